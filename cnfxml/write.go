package cnfxml

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// writeSettings write empty elements as <x></x>, as Unified CM does, and
// escape only what must be escaped, so that apostrophes and quotes in
// text stay as they were.
var writeSettings = etree.WriteSettings{CanonicalEndTags: true, CanonicalText: true, CanonicalAttrVal: true}

// WriteTo writes the configuration file. Fields changed since Parse (or
// since the last write) are written into the file's tree; nothing else is
// touched. New call managers and lines are added after the existing ones,
// removed ones are deleted, and the order of the others is left as it was.
func (c *Config) WriteTo(w io.Writer) (int64, error) {
	c.sync()
	c.doc.WriteSettings = writeSettings
	if len(c.tags) == 0 {
		return c.doc.WriteTo(w)
	}
	var buf bytes.Buffer
	c.doc.WriteTo(&buf)
	n, err := w.Write(restoreTags(buf.Bytes(), c.root, c.tags))
	return int64(n), err
}

// Bytes returns the configuration file as WriteTo writes it.
func (c *Config) Bytes() []byte {
	var b bytes.Buffer
	c.WriteTo(&b) // a bytes.Buffer does not fail
	return b.Bytes()
}

// FileName returns the name the file is served under: DeviceName + ".cnf.xml".
func (c *Config) FileName() string { return c.DeviceName + ".cnf.xml" }

// NewCSF returns the configuration of a new Cisco Jabber (CSF) device with
// SIP OAuth enabled: protocol SIP, security mode encrypted, a fresh
// versionStamp, and no call managers or lines yet. Set the fields, append
// CallManagers and Lines, and write it.
func NewCSF(deviceName string) *Config {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.CreateText("\n")
	root := doc.CreateElement("device")
	// Unified CM leaves the xsi prefix undeclared; a new file declares it,
	// so that namespace-aware parsers accept it too.
	root.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
	root.CreateAttr("xsi:type", "axl:XIPPhone")
	doc.CreateText("\n")
	c := &Config{DeviceName: deviceName, doc: doc, root: root,
		baseCM: map[*etree.Element]CallManager{}, baseLine: map[*etree.Element]Line{}}
	setText(root, "fullConfig", "true")
	ensure(root, "deviceProtocol")
	pool := ensure(root, "devicePool")
	setText(pool, "name", "Default")
	group := ensure(pool, "callManagerGroup")
	setText(group, "name", "Default")
	setText(group, "tftpDefault", "true")
	c.membersEl = ensure(group, "members")
	c.sipLinesEl = ensure(ensure(root, "sipProfile"), "sipLines")
	// The other scalar elements, empty, in Unified CM's order; sync fills them.
	for _, tag := range []string{"loadInformation", "versionStamp", "deviceSecurityMode",
		"encrConfig", "userId", "ownerId", "sipOAuthMode"} {
		ensure(root, tag)
	}
	c.base.EncryptedConfig = true // force "false" to be written
	c.Protocol = "SIP"
	c.SecurityMode = Encrypted
	c.SIPOAuthMode = 1
	c.VersionStamp = NewVersionStamp()
	return c
}

// NewVersionStamp returns a versionStamp in Unified CM's shape: the Unix
// time, a dash, and a random UUID.
func NewVersionStamp() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return strconv.FormatInt(time.Now().Unix(), 10) + "-" + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// sync writes the fields that changed since they were read into the tree.
func (c *Config) sync() {
	if c.doc == nil {
		*c = *fromFields(c)
	}
	cur, b := c.scalars(), c.base
	r := c.root
	if cur.Protocol != b.Protocol {
		setText(r, "deviceProtocol", cur.Protocol)
	}
	if cur.SecurityMode != b.SecurityMode {
		setInt(r, "deviceSecurityMode", int(cur.SecurityMode), true)
	}
	if cur.TransportLayerProtocol != b.TransportLayerProtocol {
		setInt(r, "transportLayerProtocol", cur.TransportLayerProtocol, true)
	}
	if cur.SIPOAuthMode != b.SIPOAuthMode {
		setInt(r, "sipOAuthMode", cur.SIPOAuthMode, false)
	}
	if cur.EncryptedConfig != b.EncryptedConfig {
		setText(r, "encrConfig", strconv.FormatBool(cur.EncryptedConfig))
	}
	if cur.LoadInformation != b.LoadInformation {
		setText(r, "loadInformation", cur.LoadInformation)
	}
	if cur.VersionStamp != b.VersionStamp {
		setText(r, "versionStamp", cur.VersionStamp)
	}
	if cur.UserID != b.UserID {
		setText(r, "userId", cur.UserID)
	}
	if cur.OwnerID != b.OwnerID {
		setText(r, "ownerId", cur.OwnerID)
	}
	c.base = cur
	c.syncMembers()
	c.syncLines()
}

// fromFields returns a new CSF configuration holding c's fields, for a
// Config that was built by hand rather than by Parse or NewCSF.
func fromFields(c *Config) *Config {
	n := NewCSF(c.DeviceName)
	n.Protocol, n.SecurityMode, n.TransportLayerProtocol = c.Protocol, c.SecurityMode, c.TransportLayerProtocol
	n.SIPOAuthMode, n.EncryptedConfig, n.LoadInformation = c.SIPOAuthMode, c.EncryptedConfig, c.LoadInformation
	n.VersionStamp, n.UserID, n.OwnerID = c.VersionStamp, c.UserID, c.OwnerID
	n.CallManagers, n.Lines = c.CallManagers, c.Lines
	return n
}

func (c *Config) syncMembers() {
	if len(c.CallManagers) > 0 && c.membersEl == nil {
		c.membersEl = ensure(ensure(ensure(c.root, "devicePool"), "callManagerGroup"), "members")
	}
	used := make(map[*etree.Element]bool, len(c.CallManagers))
	for i := range c.CallManagers {
		cm := &c.CallManagers[i]
		el, base, fresh := place(cm.el, used, c.membersEl, "member", c.baseCM)
		if fresh {
			base.Priority = cm.Priority + 1 // force the attribute
		}
		writeMember(el, base, cm)
		cm.el = el
		c.baseCM[el] = *cm
	}
	removeUnused(c.baseCM, used)
}

func (c *Config) syncLines() {
	if len(c.Lines) > 0 && c.sipLinesEl == nil {
		c.sipLinesEl = ensure(ensure(c.root, "sipProfile"), "sipLines")
	}
	used := make(map[*etree.Element]bool, len(c.Lines))
	for i := range c.Lines {
		l := &c.Lines[i]
		el, base, fresh := place(l.el, used, c.sipLinesEl, "line", c.baseLine)
		if fresh {
			base.Button = l.Button + 1
		}
		writeLine(el, base, *l)
		l.el = el
		c.baseLine[el] = *l
	}
	removeUnused(c.baseLine, used)
}

// place finds the element a list entry is written to: its own, or, for a
// new entry or a copy of another, a new element (a copy of the one it was
// copied from, so that its unknown children come along) added after the
// last existing one. It returns the element, the values it holds, and
// whether it is new.
func place[T any](el *etree.Element, used map[*etree.Element]bool, parent *etree.Element, tag string, bases map[*etree.Element]T) (*etree.Element, T, bool) {
	base, known := bases[el]
	if el != nil && known && !used[el] && el.Parent() == parent {
		used[el] = true
		return el, base, false
	}
	var n *etree.Element
	if el != nil && known {
		n = el.Copy()
	} else {
		n = etree.NewElement(tag)
		var zero T
		base = zero
	}
	insertAfterLast(parent, n, tag)
	used[n] = true
	return n, base, !known
}

func removeUnused[T any](bases map[*etree.Element]T, used map[*etree.Element]bool) {
	for el := range bases {
		if !used[el] {
			removeElement(el)
			delete(bases, el)
		}
	}
}

func writeMember(el *etree.Element, b CallManager, cm *CallManager) {
	if cm.Priority != b.Priority {
		el.CreateAttr("priority", strconv.Itoa(cm.Priority))
	}
	if cm.Name != b.Name {
		setText(ensure(el, "callManager"), "name", cm.Name)
	}
	if cm.Description != b.Description {
		setText(ensure(el, "callManager"), "description", cm.Description)
	}
	p, bp := cm.Ports, b.Ports
	if p != bp {
		ports := func() *etree.Element { return ensure(ensure(el, "callManager"), "ports") }
		for _, f := range []struct {
			tag      string
			new, old int
		}{
			{"ethernetPhonePort", p.EthernetPhone, bp.EthernetPhone},
			{"sipPort", p.SIP, bp.SIP},
			{"securedSipPort", p.SecuredSIP, bp.SecuredSIP},
			{"sipOAuthPort", p.SIPOAuth, bp.SIPOAuth},
		} {
			if f.new != f.old {
				setInt(ports(), f.tag, f.new, true)
			}
		}
		if p.SIPMRAOAuth != bp.SIPMRAOAuth {
			// A changed MRA port is written in Cisco's spelling.
			if old := ports().SelectElement(legacyMRATag); old != nil {
				removeElement(old)
			}
			setInt(ports(), "sipMRAOAuthPort", p.SIPMRAOAuth, true)
			cm.Ports.LegacyMRAName = false
		}
	}
	if cm.ProcessNodeName != b.ProcessNodeName {
		setText(ensure(el, "callManager"), "processNodeName", cm.ProcessNodeName)
	}
}

func writeLine(el *etree.Element, b, l Line) {
	if l.Button != b.Button {
		el.CreateAttr("button", strconv.Itoa(l.Button))
	}
	if l.FeatureID != b.FeatureID {
		setInt(el, "featureID", l.FeatureID, true)
	}
	for _, f := range []struct{ tag, new, old string }{
		{"proxy", l.Proxy, b.Proxy},
	} {
		if f.new != f.old {
			setText(el, f.tag, f.new)
		}
	}
	if l.Port != b.Port {
		setInt(el, "port", l.Port, true)
	}
	for _, f := range []struct{ tag, new, old string }{
		{"name", l.Name, b.Name},
		{"displayName", l.DisplayName, b.DisplayName},
		{"contact", l.Contact, b.Contact},
		{"authName", l.AuthName, b.AuthName},
		{"authPassword", l.AuthPassword, b.AuthPassword},
	} {
		if f.new != f.old {
			setText(el, f.tag, f.new)
		}
	}
}

// ensure returns e's first child named tag, adding it if there is none.
func ensure(e *etree.Element, tag string) *etree.Element {
	if c := e.SelectElement(tag); c != nil {
		return c
	}
	c := etree.NewElement(tag)
	appendChild(e, c)
	return c
}

func setText(e *etree.Element, tag, text string) { ensure(e, tag).SetText(text) }

// setInt writes n, or removes the element when n is 0 and zero means absent.
func setInt(e *etree.Element, tag string, n int, zeroAbsent bool) {
	if n == 0 && zeroAbsent {
		if c := e.SelectElement(tag); c != nil {
			removeElement(c)
		}
		return
	}
	setText(e, tag, strconv.Itoa(n))
}

// appendChild adds c as e's last child element, laid out like its
// siblings: Unified CM puts each element on a line of its own.
func appendChild(e, c *etree.Element) {
	sep, trail := layout(e)
	i := len(e.Child)
	if trail {
		i--
	}
	e.InsertChildAt(i, c)
	e.InsertChildAt(i, etree.NewText(sep))
	if !trail && e.Parent() != nil {
		e.InsertChildAt(i+2, etree.NewText(closingSep(e)))
	}
}

// insertAfterLast adds c after e's last child named tag, or at the end.
func insertAfterLast(e, c *etree.Element, tag string) {
	last := -1
	for i, t := range e.Child {
		if x, ok := t.(*etree.Element); ok && x.Tag == tag {
			last = i
		}
	}
	if last < 0 {
		appendChild(e, c)
		return
	}
	sep, _ := layout(e)
	e.InsertChildAt(last+1, c)
	e.InsertChildAt(last+1, etree.NewText(sep))
}

// layout returns the white space that precedes e's child elements ("\n"
// in Unified CM's files) and whether e ends with white space before its
// end tag.
func layout(e *etree.Element) (sep string, trail bool) {
	sep = "\n"
	for i, t := range e.Child {
		if _, ok := t.(*etree.Element); ok {
			if i > 0 {
				if cd, ok := e.Child[i-1].(*etree.CharData); ok && blank(cd) {
					sep = cd.Data
				}
			}
			break
		}
	}
	if n := len(e.Child); n > 0 {
		if cd, ok := e.Child[n-1].(*etree.CharData); ok && blank(cd) {
			trail = true
		}
	}
	return sep, trail
}

// closingSep is the white space before e's end tag: e's own separator.
func closingSep(e *etree.Element) string {
	if p := e.Parent(); p != nil {
		sep, _ := layout(p)
		return sep
	}
	return "\n"
}

// blank reports whether cd is white space only. (etree's IsWhitespace
// knows only tokens it read.)
func blank(cd *etree.CharData) bool { return strings.TrimSpace(cd.Data) == "" }

// removeElement removes el and the white space that separated it from
// the element before.
func removeElement(el *etree.Element) {
	p := el.Parent()
	if p == nil {
		return
	}
	i := el.Index()
	p.RemoveChildAt(i)
	if i > 0 {
		if cd, ok := p.Child[i-1].(*etree.CharData); ok && blank(cd) && strings.ContainsRune(cd.Data, '\n') {
			p.RemoveChildAt(i - 1)
		}
	}
}
