package cnfxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// strictXML decodes b with encoding/xml in strict mode and also requires
// every namespace prefix to be declared, as a namespace-aware parser does.
func strictXML(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	declared := map[string]bool{"xmlns": true}
	roots := 0
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" {
					declared[a.Value] = true
				}
			}
			names := []xml.Name{t.Name}
			for _, a := range t.Attr {
				names = append(names, a.Name)
			}
			for _, n := range names {
				if n.Space != "" && !declared[n.Space] {
					return errors.New("undeclared namespace prefix " + n.Space + " on " + n.Local)
				}
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text outside the root")
			}
		}
	}
	if roots != 1 {
		return errors.New("not exactly one root")
	}
	return nil
}

func TestStrictXMLCatchesUndeclaredPrefix(t *testing.T) {
	t.Parallel()
	// Unified CM's own files use xsi undeclared: the strict check must see it.
	if err := strictXML(readFixture(t, "CSFrado.cnf.xml")); err == nil || !strings.Contains(err.Error(), "xsi") {
		t.Fatalf("strictXML accepted an undeclared prefix: %v", err)
	}
}

func TestNewCSF(t *testing.T) {
	t.Parallel()
	c := NewCSF("CSFrado")
	c.UserID, c.OwnerID = "rado", "rado"
	c.CallManagers = []CallManager{
		{Priority: 0, Name: "10.10.10.1", Description: "ccm12pub", ProcessNodeName: "ccm12pub", Ports: stdPorts},
		{Priority: 1, Name: "10.10.10.2", ProcessNodeName: "ccm12sub", Ports: Ports{SIPOAuth: 5190, SIPMRAOAuth: 5191}},
	}
	c.Lines = []Line{{Button: 1, FeatureID: 9, Name: "1234", DisplayName: "Rado <R&D>", Proxy: "USECALLMANAGER", Port: 5060, Contact: "1234"}}
	b := c.Bytes()

	if err := strictXML(b); err != nil {
		t.Fatalf("strict XML parser refuses the generated file: %v\n%s", err, b)
	}
	if !bytes.HasPrefix(b, []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<device xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"axl:XIPPhone\">\n<fullConfig>true</fullConfig>\n<deviceProtocol>SIP</deviceProtocol>\n<devicePool>\n")) {
		t.Fatalf("unexpected head:\n%s", b)
	}
	if !regexp.MustCompile(`<versionStamp>\d{10}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}</versionStamp>`).Match(b) {
		t.Fatalf("versionStamp not in Unified CM's shape:\n%s", b)
	}
	for _, want := range []string{
		"<sipOAuthMode>1</sipOAuthMode>\n</device>\n",
		"<deviceSecurityMode>3</deviceSecurityMode>",
		"<encrConfig>false</encrConfig>",
		"<displayName>Rado &lt;R&amp;D&gt;</displayName>",
		"<member priority=\"1\">\n<callManager>\n<name>10.10.10.2</name>\n<ports>\n<sipOAuthPort>5190</sipOAuthPort>\n<sipMRAOAuthPort>5191</sipMRAOAuthPort>\n</ports>\n<processNodeName>ccm12sub</processNodeName>\n</callManager>\n</member>",
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("generated file lacks %q", want)
		}
	}

	again, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse of the generated file: %v", err)
	}
	want := model(c)
	want.DeviceName = ""
	if got := model(again); !reflect.DeepEqual(got, want) {
		t.Fatalf("generated file parses to\n %+v\nwant %+v", got, want)
	}
	if fs := again.Validate(); fs.HasErrors() {
		t.Fatalf("generated file has errors: %v", fs)
	}
	if !bytes.Equal(again.Bytes(), b) {
		t.Fatal("generated file does not round-trip exactly")
	}
	if c.FileName() != "CSFrado.cnf.xml" {
		t.Fatal(c.FileName())
	}
}

// A Config built as a literal is written as a new CSF file.
func TestWriteLiteralConfig(t *testing.T) {
	t.Parallel()
	c := &Config{DeviceName: "CSFlit", Protocol: "SIP", SecurityMode: Encrypted, SIPOAuthMode: 1, TransportLayerProtocol: 4,
		CallManagers: []CallManager{{Name: "ucm", Ports: stdPorts}}}
	b := c.Bytes()
	if err := strictXML(b); err != nil {
		t.Fatal(err)
	}
	again, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if again.TransportLayerProtocol != 4 || again.SIPOAuthMode != 1 || len(again.CallManagers) != 1 || again.CallManagers[0].Ports != stdPorts {
		t.Fatalf("literal config reads back as %+v", model(again))
	}
	if !bytes.Contains(b, []byte("<transportLayerProtocol>4</transportLayerProtocol>\n</device>")) {
		t.Fatalf("new scalar not appended at the end:\n%s", b)
	}
}

func TestNewVersionStampUnique(t *testing.T) {
	t.Parallel()
	if a, b := NewVersionStamp(), NewVersionStamp(); a == b {
		t.Fatal("two stamps alike")
	}
}

func TestWriteToError(t *testing.T) {
	t.Parallel()
	c, _ := parseFixture(t, "CSFrado.cnf.xml")
	if _, err := c.WriteTo(failWriter{}); err == nil {
		t.Fatal("write error lost")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
