package cnfxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/sipoauth/sdk/internal/defaults"
)

// Default ports, used by clients when the file names none.
const (
	DefaultEthernetPhonePort = 2000
	DefaultSIPPort           = 5060
	DefaultSecuredSIPPort    = 5061
	DefaultSIPOAuthPort      = 5090
	DefaultSIPMRAOAuthPort   = 5091
)

// Limits of a zero Reader.
const (
	DefaultMaxSize  = 1 << 20
	DefaultMaxDepth = 64
)

// SecurityMode is the value of deviceSecurityMode.
type SecurityMode int

// Device security modes of Unified CM.
const (
	NonSecure     SecurityMode = 1
	Authenticated SecurityMode = 2
	Encrypted     SecurityMode = 3
)

// String returns "non-secure", "authenticated", "encrypted", or the number.
func (m SecurityMode) String() string {
	switch m {
	case NonSecure:
		return "non-secure"
	case Authenticated:
		return "authenticated"
	case Encrypted:
		return "encrypted"
	}
	return strconv.Itoa(int(m))
}

// Config is the typed view of a device configuration file. Parse fills it
// from a file and keeps the file's element tree underneath, so that Write
// changes only what was changed here and keeps everything else: unknown
// elements, comments, attribute order, the undeclared xsi prefix and
// vendorConfig as they were.
//
// A number that is 0 or a string that is empty was absent from the file
// (sipOAuthMode 0 also means disabled). A Config is not safe for
// concurrent use; Parse a file once per goroutine or guard it.
type Config struct {
	// DeviceName is the name the file is served under
	// (<DeviceName>.cnf.xml), e.g. "CSFrado" or "SEP00562BA1C2D3". The
	// file does not carry it: Parse leaves it empty, ParseFile and Source
	// set it from the file name.
	DeviceName string

	Protocol               string       // deviceProtocol, e.g. "SIP"
	SecurityMode           SecurityMode // deviceSecurityMode
	TransportLayerProtocol int          // transportLayerProtocol; its meaning varies by release
	SIPOAuthMode           int          // sipOAuthMode: 0 disabled, 1 enabled
	EncryptedConfig        bool         // encrConfig
	LoadInformation        string       // loadInformation: the firmware or client load
	VersionStamp           string       // versionStamp: changes whenever the file does
	UserID                 string       // userId
	OwnerID                string       // ownerId

	// CallManagers are the members of the device pool's call manager
	// group, in priority order.
	CallManagers []CallManager
	// Lines are the SIP lines, in file order.
	Lines []Line

	// FieldErrors are the numbers, ports and booleans that did not parse
	// when Reader.KeepGoing is set (the fields directly under <device>
	// first, then the call managers', then the lines'): each field is 0 (or
	// false) in the model, its text stays in the file as written, and
	// Validate reports it. Without KeepGoing the first one fails Parse.
	FieldErrors []*ParseError

	doc  *etree.Document
	root *etree.Element
	// base holds the values as read, keyed by element, so that writing
	// touches only what changed.
	bad        map[string]bool // paths of FieldErrors
	base       scalars
	baseCM     map[*etree.Element]CallManager
	baseLine   map[*etree.Element]Line
	membersEl  *etree.Element             // callManagerGroup/members, once known
	sipLinesEl *etree.Element             // sipProfile/sipLines, once known
	tags       map[*etree.Element]tagNote // how start tags were written
}

// scalars are the Config fields that live directly under <device>.
type scalars struct {
	Protocol               string
	SecurityMode           SecurityMode
	TransportLayerProtocol int
	SIPOAuthMode           int
	EncryptedConfig        bool
	LoadInformation        string
	VersionStamp           string
	UserID                 string
	OwnerID                string
}

func (c *Config) scalars() scalars {
	return scalars{c.Protocol, c.SecurityMode, c.TransportLayerProtocol, c.SIPOAuthMode, c.EncryptedConfig,
		c.LoadInformation, c.VersionStamp, c.UserID, c.OwnerID}
}

// CallManager is one member of the call manager group: a Unified CM node.
type CallManager struct {
	Priority        int    // the member's priority attribute; 0 is tried first
	Name            string // host name or IP address the client connects to
	Description     string
	ProcessNodeName string
	Ports           Ports

	el *etree.Element // the <member> this was read from
}

// Ports are a node's listening ports; 0 means the file names none.
type Ports struct {
	EthernetPhone int // ethernetPhonePort (SCCP), 2000
	SIP           int // sipPort, 5060
	SecuredSIP    int // securedSipPort, 5061
	SIPOAuth      int // sipOAuthPort, 5090: TLS with a token, on premises
	SIPMRAOAuth   int // sipMRAOAuthPort, 5091: mutual TLS from the edge proxy

	// LegacyMRAName is true when the file spelled the MRA port
	// sipMAOAuthPort. Parse sets it; writing a changed port uses Cisco's
	// spelling.
	LegacyMRAName bool
}

// Line is one SIP line of the device.
type Line struct {
	Button       int    // the button attribute
	FeatureID    int    // featureID: 9 for a line
	Name         string // the directory number
	DisplayName  string
	Proxy        string // e.g. USECALLMANAGER
	Port         int
	Contact      string
	AuthName     string // digest user name; not supported with SIP OAuth
	AuthPassword string // digest password; not supported with SIP OAuth

	el *etree.Element
}

// HasDigestCredentials reports whether the line carries digest credentials.
func (l Line) HasDigestCredentials() bool { return l.AuthName != "" || l.AuthPassword != "" }

// Errors of Parse. A *ParseError wraps one of them.
var (
	ErrEmpty     = errors.New("cnfxml: empty input")
	ErrTooLarge  = errors.New("cnfxml: input larger than the limit")
	ErrTooDeep   = errors.New("cnfxml: elements nested deeper than the limit")
	ErrNotXML    = errors.New("cnfxml: not well-formed XML")
	ErrRoot      = errors.New("cnfxml: the root element is not <device>")
	ErrTrailing  = errors.New("cnfxml: content after the root element")
	ErrBadNumber = errors.New("cnfxml: not a number")
	ErrBadBool   = errors.New("cnfxml: not true or false")
	ErrBadPort   = errors.New("cnfxml: not a port number (1-65535)")
)

// ParseError says what is wrong with a configuration file, and where.
type ParseError struct {
	Path  string // element path, e.g. /device/devicePool/.../ports/sipOAuthPort
	Value string // the offending text, if any (shortened)
	Err   error  // one of the package's Err* values, or the XML decoder's error
	// Line and Column locate XML that is not well-formed (ErrNotXML), both
	// counted from 1; 0 when unknown.
	Line, Column int
}

// Error returns the reason, the element path and the offending text.
func (e *ParseError) Error() string {
	var b strings.Builder
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("cnfxml: invalid configuration")
	}
	if e.Path != "" {
		b.WriteString(" at ")
		b.WriteString(e.Path)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " at line %d, column %d", e.Line, e.Column)
	}
	if e.Value != "" {
		b.WriteString(": ")
		b.WriteString(strconv.Quote(e.Value))
	}
	return b.String()
}

// Unwrap returns the reason.
func (e *ParseError) Unwrap() error { return e.Err }

// Reader reads configuration files within limits. The zero value uses
// DefaultMaxSize and DefaultMaxDepth.
type Reader struct {
	MaxSize  int // largest file accepted, in bytes
	MaxDepth int // deepest element nesting accepted
	// KeepGoing makes a number, port or boolean that does not parse a
	// Config.FieldErrors entry rather than a failure of Parse, so that a
	// checker reports every such field and checks the rest, as a compiler
	// does. Writing the Config leaves such a field's text as it was.
	KeepGoing bool
}

// Parse reads a configuration file with the default limits.
func Parse(b []byte) (*Config, error) { return Reader{}.Parse(b) }

// Read reads a configuration file from r with the default limits.
func Read(r io.Reader) (*Config, error) { return Reader{}.Read(r) }

// Read reads at most MaxSize bytes from r and parses them.
func (rd Reader) Read(r io.Reader) (*Config, error) {
	max := rd.maxSize()
	b, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("cnfxml: reading: %w", err)
	}
	return rd.Parse(b)
}

func (rd Reader) maxSize() int {
	return defaults.Positive(rd.MaxSize, DefaultMaxSize)
}

// Parse parses a configuration file. It fails on empty input, input over
// MaxSize or nested deeper than MaxDepth, XML that is not well-formed, a
// root other than <device>, several roots or content after the root, and
// (unless KeepGoing) text that is not a number where the model wants one;
// the *ParseError names the element path, or the line and column of XML
// that is not well-formed.
func (rd Reader) Parse(b []byte) (*Config, error) {
	if len(b) > rd.maxSize() {
		return nil, &ParseError{Err: ErrTooLarge, Value: strconv.Itoa(len(b)) + " bytes or more"}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, &ParseError{Err: ErrEmpty}
	}
	depth := defaults.Positive(rd.MaxDepth, DefaultMaxDepth)
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{MaxDepth: depth}
	if err := doc.ReadFromBytes(b); err != nil {
		if errors.Is(err, etree.ErrMaxDepth) {
			return nil, &ParseError{Err: ErrTooDeep, Value: strconv.Itoa(depth) + " levels"}
		}
		return nil, notXML(b, err)
	}
	root, err := checkDocument(doc)
	if err != nil {
		return nil, err
	}
	c := &Config{doc: doc, root: root, tags: noteTags(b, root)}
	ld := &loader{keepGoing: rd.KeepGoing}
	if err := c.load(ld); err != nil {
		return nil, err
	}
	c.FieldErrors = ld.errs
	for _, e := range ld.errs {
		if c.bad == nil {
			c.bad = map[string]bool{}
		}
		c.bad[e.Path] = true
	}
	return c, nil
}

// notXML is the error of b, which the XML reader refused with err: the
// standard decoder's message and position where it finds the fault.
func notXML(b []byte, err error) *ParseError {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	for {
		_, derr := d.Token()
		if derr == nil {
			continue
		}
		if se, ok := derr.(*xml.SyntaxError); ok {
			line, col := d.InputPos()
			return &ParseError{Err: fmt.Errorf("%w: %s", ErrNotXML, se.Msg), Line: line, Column: col}
		}
		break
	}
	return &ParseError{Err: fmt.Errorf("%w: %v", ErrNotXML, strings.TrimPrefix(err.Error(), "XML syntax error "))}
}

// loader collects the field errors of a KeepGoing parse.
type loader struct {
	keepGoing bool
	errs      []*ParseError
}

// field returns err, or nil once noted when the parse keeps going past a
// field that does not parse.
func (ld *loader) field(err error) error {
	var pe *ParseError
	if err == nil || !ld.keepGoing || !errors.As(err, &pe) {
		return err
	}
	ld.errs = append(ld.errs, pe)
	return nil
}

// checkDocument finds the one root element and refuses anything else at
// the top level but the XML declaration, comments and white space.
func checkDocument(doc *etree.Document) (*etree.Element, error) {
	var root *etree.Element
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			if root != nil {
				return nil, &ParseError{Err: ErrTrailing, Path: "/" + t.FullTag(), Value: "a second root element"}
			}
			root = t
		case *etree.CharData:
			if strings.TrimSpace(t.Data) != "" {
				if root == nil {
					return nil, &ParseError{Err: fmt.Errorf("%w: text outside any element", ErrNotXML), Value: shorten(t.Data)}
				}
				return nil, &ParseError{Err: ErrTrailing, Value: shorten(t.Data)}
			}
		case *etree.Directive:
			return nil, &ParseError{Err: fmt.Errorf("%w: DOCTYPE and other directives are not allowed", ErrNotXML)}
		}
	}
	if root == nil {
		return nil, &ParseError{Err: fmt.Errorf("%w: no element", ErrNotXML)}
	}
	if root.Space != "" || root.Tag != "device" {
		return nil, &ParseError{Err: ErrRoot, Path: "/" + root.FullTag()}
	}
	return root, nil
}

func shorten(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// load fills c's fields from its tree.
func (c *Config) load(ld *loader) error {
	r := c.root
	var err error
	str := func(tag string) string { return childText(r, tag) }
	num := func(tag string) int {
		n, e := intChild(r, tag)
		if e = ld.field(e); err == nil {
			err = e
		}
		return n
	}
	c.Protocol = str("deviceProtocol")
	c.SecurityMode = SecurityMode(num("deviceSecurityMode"))
	c.TransportLayerProtocol = num("transportLayerProtocol")
	c.SIPOAuthMode = num("sipOAuthMode")
	c.LoadInformation = str("loadInformation")
	c.VersionStamp = str("versionStamp")
	c.UserID = str("userId")
	c.OwnerID = str("ownerId")
	if err != nil {
		return err
	}
	c.EncryptedConfig, err = boolChild(r, "encrConfig")
	if err = ld.field(err); err != nil {
		return err
	}
	c.base = c.scalars()

	c.membersEl = findPath(r, "devicePool", "callManagerGroup", "members")
	if c.CallManagers, c.baseCM, err = readList(c.membersEl, "member", ld.readMember); err != nil {
		return err
	}
	slices.SortStableFunc(c.CallManagers, func(a, b CallManager) int { return a.Priority - b.Priority })
	c.sipLinesEl = findPath(r, "sipProfile", "sipLines")
	c.Lines, c.baseLine, err = readList(c.sipLinesEl, "line", ld.readLine)
	return err
}

// readList reads parent's children named tag, and notes each one's values
// by element for writing.
func readList[T any](parent *etree.Element, tag string, read func(*etree.Element) (T, error)) ([]T, map[*etree.Element]T, error) {
	bases := make(map[*etree.Element]T)
	if parent == nil {
		return nil, bases, nil
	}
	var out []T
	for _, el := range parent.SelectElements(tag) {
		v, err := read(el)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, v)
		bases[el] = v
	}
	return out, bases, nil
}

// intAttr reads e's attribute name as a number; absent is 0.
func intAttr(e *etree.Element, name string) (int, error) {
	a := e.SelectAttr(name)
	if a == nil {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(a.Value))
	if err != nil {
		return 0, &ParseError{Err: ErrBadNumber, Path: path(e) + "/@" + name, Value: shorten(a.Value)}
	}
	return n, nil
}

func (ld *loader) readMember(m *etree.Element) (CallManager, error) {
	cm := CallManager{el: m}
	var err error
	if cm.Priority, err = intAttr(m, "priority"); ld.field(err) != nil {
		return cm, err
	}
	node := m.SelectElement("callManager")
	if node == nil {
		return cm, nil
	}
	cm.Name = childText(node, "name")
	cm.Description = childText(node, "description")
	cm.ProcessNodeName = childText(node, "processNodeName")
	ports := node.SelectElement("ports")
	if ports == nil {
		return cm, nil
	}
	p := &cm.Ports
	for _, f := range []struct {
		tag string
		dst *int
	}{
		{"ethernetPhonePort", &p.EthernetPhone},
		{"sipPort", &p.SIP},
		{"securedSipPort", &p.SecuredSIP},
		{"sipOAuthPort", &p.SIPOAuth},
		{"sipMRAOAuthPort", &p.SIPMRAOAuth},
	} {
		if *f.dst, err = portChild(ports, f.tag); ld.field(err) != nil {
			return cm, err
		}
	}
	if ports.SelectElement(legacyMRATag) != nil {
		p.LegacyMRAName = true
		if p.SIPMRAOAuth == 0 {
			if p.SIPMRAOAuth, err = portChild(ports, legacyMRATag); ld.field(err) != nil {
				return cm, err
			}
		}
	}
	return cm, nil
}

// legacyMRATag is the source document's spelling of sipMRAOAuthPort.
const legacyMRATag = "sipMAOAuthPort"

func (ld *loader) readLine(l *etree.Element) (Line, error) {
	line := Line{el: l}
	var err error
	if line.Button, err = intAttr(l, "button"); ld.field(err) != nil {
		return line, err
	}
	if line.FeatureID, err = intChild(l, "featureID"); ld.field(err) != nil {
		return line, err
	}
	if line.Port, err = intChild(l, "port"); ld.field(err) != nil {
		return line, err
	}
	line.Name = childText(l, "name")
	line.DisplayName = childText(l, "displayName")
	line.Proxy = childText(l, "proxy")
	line.Contact = childText(l, "contact")
	line.AuthName = childText(l, "authName")
	line.AuthPassword = childText(l, "authPassword")
	return line, nil
}

func findPath(e *etree.Element, tags ...string) *etree.Element {
	for _, t := range tags {
		if e = e.SelectElement(t); e == nil {
			return nil
		}
	}
	return e
}

func childText(e *etree.Element, tag string) string {
	if c := e.SelectElement(tag); c != nil {
		return strings.TrimSpace(c.Text())
	}
	return ""
}

func intChild(e *etree.Element, tag string) (int, error) {
	c := e.SelectElement(tag)
	if c == nil {
		return 0, nil
	}
	s := strings.TrimSpace(c.Text())
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, &ParseError{Err: ErrBadNumber, Path: path(c), Value: shorten(s)}
	}
	return n, nil
}

func portChild(e *etree.Element, tag string) (int, error) {
	c := e.SelectElement(tag)
	if c == nil {
		return 0, nil
	}
	n, err := intChild(e, tag)
	if err == nil && (n < 0 || n > 65535 || (n == 0 && strings.TrimSpace(c.Text()) != "")) {
		err = &ParseError{Err: ErrBadPort, Path: path(c), Value: strings.TrimSpace(c.Text())}
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

func boolChild(e *etree.Element, tag string) (bool, error) {
	c := e.SelectElement(tag)
	if c == nil {
		return false, nil
	}
	switch s := strings.TrimSpace(c.Text()); strings.ToLower(s) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, &ParseError{Err: ErrBadBool, Path: path(c), Value: shorten(s)}
	}
}

// path returns e's XPath-like path, with a 1-based index where e has
// siblings of its name: /device/sipProfile/sipLines/line[2]/name.
func path(e *etree.Element) string {
	var parts []string
	for ; e != nil; e = e.Parent() {
		if e.Parent() == nil { // the document
			break
		}
		part := e.FullTag()
		if p := e.Parent(); p != nil {
			n, idx := 0, 0
			for _, s := range p.ChildElements() {
				if s.Tag == e.Tag && s.Space == e.Space {
					n++
					if s == e {
						idx = n
					}
				}
			}
			if n > 1 {
				part += "[" + strconv.Itoa(idx) + "]"
			}
		}
		parts = append(parts, part)
	}
	slices.Reverse(parts)
	return "/" + strings.Join(parts, "/")
}
