package cnfxml

import (
	"encoding/xml"
	"testing"
)

// xmlDevice holds the same fields as Config, for encoding/xml.
type xmlDevice struct {
	XMLName                xml.Name `xml:"device"`
	Protocol               string   `xml:"deviceProtocol"`
	SecurityMode           int      `xml:"deviceSecurityMode"`
	TransportLayerProtocol int      `xml:"transportLayerProtocol"`
	SIPOAuthMode           int      `xml:"sipOAuthMode"`
	EncryptedConfig        bool     `xml:"encrConfig"`
	LoadInformation        string   `xml:"loadInformation"`
	VersionStamp           string   `xml:"versionStamp"`
	UserID                 string   `xml:"userId"`
	OwnerID                string   `xml:"ownerId"`
	Members                []struct {
		Priority        int    `xml:"priority,attr"`
		Name            string `xml:"callManager>name"`
		Description     string `xml:"callManager>description"`
		ProcessNodeName string `xml:"callManager>processNodeName"`
		Ports           struct {
			EthernetPhone int `xml:"ethernetPhonePort"`
			SIP           int `xml:"sipPort"`
			SecuredSIP    int `xml:"securedSipPort"`
			SIPOAuth      int `xml:"sipOAuthPort"`
			SIPMRAOAuth   int `xml:"sipMRAOAuthPort"`
		} `xml:"callManager>ports"`
	} `xml:"devicePool>callManagerGroup>members>member"`
	Lines []struct {
		Button       int    `xml:"button,attr"`
		FeatureID    int    `xml:"featureID"`
		Name         string `xml:"name"`
		DisplayName  string `xml:"displayName"`
		Proxy        string `xml:"proxy"`
		Port         int    `xml:"port"`
		Contact      string `xml:"contact"`
		AuthName     string `xml:"authName"`
		AuthPassword string `xml:"authPassword"`
	} `xml:"sipProfile>sipLines>line"`
}

// BenchmarkParseValidate parses and validates the 14 KB hardware-phone file.
func BenchmarkParseValidate(b *testing.B) {
	src := readFixture(b, "SEP00562BA1C2D3.cnf.xml")
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := Parse(src)
		if err != nil || len(c.CallManagers) != 3 {
			b.Fatal(err)
		}
		if fs := c.Validate(); len(fs) != 0 {
			b.Fatal(fs)
		}
	}
}

// BenchmarkBaselineUnmarshal reads the same fields of the same file with
// encoding/xml: the yardstick for BenchmarkParseValidate.
func BenchmarkBaselineUnmarshal(b *testing.B) {
	src := readFixture(b, "SEP00562BA1C2D3.cnf.xml")
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		var d xmlDevice
		if err := xml.Unmarshal(src, &d); err != nil || len(d.Members) != 3 || d.Members[2].Ports.SIPMRAOAuth != 5091 {
			b.Fatal(err)
		}
	}
}

// BenchmarkWrite writes the file back after one change.
func BenchmarkWrite(b *testing.B) {
	src := readFixture(b, "SEP00562BA1C2D3.cnf.xml")
	c, err := Parse(src)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.SIPOAuthMode = i & 1
		if len(c.Bytes()) < len(src)-10 {
			b.Fatal("short")
		}
	}
}
