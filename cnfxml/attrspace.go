package cnfxml

import (
	"bytes"

	"github.com/beevik/etree"
)

// Unified CM separates attributes with two spaces (<member  priority="0">)
// and etree writes one; a file may close an empty element as <x/> where
// Unified CM writes <x></x>. To give back a file as it came, Parse notes,
// for each element that differs from etree's way, the white space before
// each attribute and whether it was self-closing, and WriteTo puts them
// back.

// tagNote is how an element's start tag was written.
type tagNote struct {
	ws          []string // white space before each attribute; nil: one space each
	selfClosing bool
}

// span is a half-open byte range.
type span struct{ from, to int }

// scanStartTags calls f for each start tag in b, in document order, with
// the ranges of white space that precede its attributes, the offset after
// its '>' and whether it closes itself. b must be well-formed: it is
// either the file Parse accepted or etree's output.
func scanStartTags(b []byte, f func(seps []span, end int, selfClosing bool)) {
	var seps []span
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return
		}
		i += j
		rest := b[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			i = skipPast(b, i+4, "-->")
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			i = skipPast(b, i+9, "]]>")
		case bytes.HasPrefix(rest, []byte("<?")):
			i = skipPast(b, i+2, "?>")
		case len(rest) > 1 && (rest[1] == '/' || rest[1] == '!'):
			i = skipPast(b, i+2, ">")
		default:
			seps = seps[:0]
			i = scanTag(b, i+1, &seps)
			f(seps, i, i >= 2 && b[i-2] == '/')
		}
	}
}

func skipPast(b []byte, i int, end string) int {
	j := bytes.Index(b[i:], []byte(end))
	if j < 0 {
		return len(b)
	}
	return i + j + len(end)
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// scanTag reads a start tag from just after its '<' and returns the
// offset after its '>'.
func scanTag(b []byte, i int, seps *[]span) int {
	for i < len(b) && !isXMLSpace(b[i]) && b[i] != '>' && b[i] != '/' {
		i++
	}
	for i < len(b) {
		ws := i
		for i < len(b) && isXMLSpace(b[i]) {
			i++
		}
		if i >= len(b) || b[i] == '>' || b[i] == '/' {
			return skipPast(b, i, ">")
		}
		*seps = append(*seps, span{ws, i})
		for i < len(b) && b[i] != '"' && b[i] != '\'' {
			i++
		}
		if i >= len(b) {
			return i
		}
		q := b[i]
		k := bytes.IndexByte(b[i+1:], q)
		if k < 0 {
			return len(b)
		}
		i += k + 2
	}
	return i
}

// elements returns the elements under and including root, in document order.
func elements(root *etree.Element) []*etree.Element {
	var out []*etree.Element
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		out = append(out, e)
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(root)
	return out
}

// noteTags records how the start tags of the elements of root were
// written in src, for those written otherwise than etree writes them.
func noteTags(src []byte, root *etree.Element) map[*etree.Element]tagNote {
	els := elements(root)
	var notes map[*etree.Element]tagNote
	n := 0
	scanStartTags(src, func(seps []span, _ int, selfClosing bool) {
		if n >= len(els) {
			return
		}
		el := els[n]
		n++
		note := tagNote{selfClosing: selfClosing}
		if len(seps) == len(el.Attr) {
			for k, s := range seps {
				if s.to-s.from == 1 && src[s.from] == ' ' {
					continue
				}
				if note.ws == nil {
					note.ws = make([]string, len(seps))
					for m := range note.ws {
						note.ws[m] = " "
					}
				}
				note.ws[k] = string(src[s.from:s.to])
			}
		}
		if note.ws != nil || note.selfClosing {
			if notes == nil {
				notes = make(map[*etree.Element]tagNote)
			}
			notes[el] = note
		}
	})
	if n != len(els) {
		return nil // the scan and the tree disagree: keep etree's way
	}
	return notes
}

// restoreTags rewrites out, etree's rendering of the tree under root (with
// CanonicalEndTags), the way noteTags found the tags written.
func restoreTags(out []byte, root *etree.Element, notes map[*etree.Element]tagNote) []byte {
	if len(notes) == 0 {
		return out
	}
	els := elements(root)
	res := make([]byte, 0, len(out))
	last, n := 0, 0
	scanStartTags(out, func(seps []span, end int, _ bool) {
		if n >= len(els) {
			return
		}
		el := els[n]
		note, ok := notes[el]
		n++
		if !ok {
			return
		}
		if len(note.ws) == len(seps) {
			for k, s := range seps {
				res = append(res, out[last:s.from]...)
				res = append(res, note.ws[k]...)
				last = s.to
			}
		}
		if note.selfClosing && len(el.Child) == 0 {
			closing := "</" + el.FullTag() + ">"
			if bytes.HasPrefix(out[end:], []byte(closing)) {
				res = append(res, out[last:end-1]...)
				res = append(res, "/>"...)
				last = end + len(closing)
			}
		}
	})
	return append(res, out[last:]...)
}
