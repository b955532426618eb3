package siplimit

import (
	"bytes"
	"hash/fnv"
	"net/netip"
	"strconv"
)

// statusFor is the answer to a refused message: 400 for bad framing, 513
// for a message too large (RFC 3261 §21.4.1, §21.5.14); 0 for none.
func statusFor(why failure) (int, string) {
	switch why {
	case failFraming:
		return 400, "Bad Request"
	case failTooLarge:
		return 513, "Message Too Large"
	}
	return 0, ""
}

// answer appends to dst the response a stateless UAS gives to the
// request whose start line and header lines f kept: its Via headers,
// From, To (with a tag), Call-ID and CSeq, no body. src is where the
// request came from, for a Via "rport" without a value (RFC 3581). It
// returns false when there is nothing to answer: a response, an ACK, or a
// request without Via, From, To or Call-ID.
//
// The values are echoed as received, folding replaced by a space, and
// control characters (but HTAB) by a space, so that no value can end a
// line of the answer. A CSeq is echoed whatever its value, one sipgo
// does not read too: the client matches the answer on its Via branch and
// CSeq method (RFC 3261 §17.1.3). A request without a CSeq value gets an
// answer without CSeq, as sipgo answers a request without one.
func (f *framer) answer(dst []byte, code int, reason string, src netip.AddrPort) ([]byte, bool) {
	var (
		vias                    [][]byte // the header groups, CRLF included
		from, to, callID, cseq  []byte
		start, rest             = cutLine(f.buf)
		group                   []byte
		groupKind, n            int
		isRequest, isAck        bool
		startOK                 = start != nil
		fromOK, toOK, idOK, sOK bool
	)
	if startOK {
		isRequest = startLineKind(start) == slRequest
		isAck = isRequest && bytes.HasPrefix(start, []byte("ACK "))
	}
	if !isRequest || isAck {
		return dst, false
	}
	flush := func() {
		if group == nil {
			return
		}
		switch groupKind {
		case hVia:
			vias = append(vias, group)
		case hFrom:
			from, fromOK = first(from, group, fromOK)
		case hTo:
			to, toOK = first(to, group, toOK)
		case hCallID:
			callID, idOK = first(callID, group, idOK)
		case hCSeq:
			cseq, sOK = first(cseq, group, sOK)
		}
		group = nil
	}
	for len(rest) > 0 {
		off := len(f.buf) - len(rest)
		line, next := cutLine(rest)
		if line == nil {
			break // a line cut short by the size limit
		}
		n = len(rest) - len(next)
		if line[0] == ' ' || line[0] == '\t' {
			if group != nil {
				group = f.buf[off-len(group) : off+n]
			}
		} else {
			// The name before the colon, or a name alone on its line
			// that continuation lines give a colon (see framer.classify).
			flush()
			name := line
			if c := bytes.IndexByte(line, ':'); c >= 0 {
				name = line[:c]
			}
			groupKind = headerKind(name)
			group = f.buf[off : off+n]
		}
		rest = next
	}
	flush()
	if len(vias) == 0 || !fromOK || !toOK || !idOK {
		return dst, false
	}

	dst = append(dst, "SIP/2.0 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	dst = append(dst, "\r\n"...)
	for i, v := range vias {
		dst = append(dst, "Via: "...)
		if i == 0 {
			dst = appendTopVia(dst, v, src)
		} else {
			dst = appendValue(dst, v)
		}
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "From: "...)
	dst = appendValue(dst, from)
	dst = append(dst, "\r\nTo: "...)
	dst = appendValue(dst, to)
	if !hasTag(value(to)) {
		h := fnv.New64a()
		for _, g := range [][]byte{callID, from, cseq, vias[0]} {
			h.Write(value(g))
			h.Write([]byte{0})
		}
		dst = append(dst, ";tag="...)
		dst = appendHex(dst, h.Sum64())
	}
	dst = append(dst, "\r\nCall-ID: "...)
	dst = appendValue(dst, callID)
	if sOK {
		dst = append(dst, "\r\nCSeq: "...)
		dst = appendValue(dst, cseq)
	}
	dst = append(dst, "\r\nContent-Length: 0\r\n\r\n"...)
	return dst, true
}

func first(have, g []byte, ok bool) ([]byte, bool) {
	if ok {
		return have, true
	}
	return g, len(value(g)) > 0
}

// cutLine splits b after its first CRLF; line is nil when there is none.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		return nil, nil
	}
	return b[:i], b[i+2:]
}

// value is the value of a header group, folding and all: what follows
// the colon, trimmed.
func value(g []byte) []byte {
	c := bytes.IndexByte(g, ':')
	if c < 0 {
		return nil
	}
	return bytes.Trim(g[c+1:], " \t\r\n")
}

// appendValue appends a header group's value with its line folding
// replaced by one space, and any other control character but HTAB too.
func appendValue(dst, g []byte) []byte { return appendUnfolded(dst, value(g)) }

func appendUnfolded(dst, v []byte) []byte {
	start := len(dst)
	for len(v) > 0 {
		i := bytes.Index(v, []byte("\r\n"))
		if i < 0 {
			dst = append(dst, v...)
			break
		}
		dst = append(dst, bytes.TrimRight(v[:i], " \t")...)
		dst = append(dst, ' ')
		v = bytes.TrimLeft(v[i+2:], " \t")
	}
	for i := start; i < len(dst); i++ {
		if c := dst[i]; c < ' ' && c != '\t' || c == 0x7f {
			dst[i] = ' '
		}
	}
	return dst
}

// appendTopVia appends the top Via value, with "rport" given the source
// port and a "received" parameter added when it has no value (RFC 3581
// §4), as sipgo does for its own answers.
func appendTopVia(dst, g []byte, src netip.AddrPort) []byte {
	start := len(dst)
	dst = appendValue(dst, g)
	if !src.IsValid() {
		return dst
	}
	via := dst[start:]
	end := len(via)
	if c := bytes.IndexByte(via, ','); c >= 0 {
		end = c
	}
	for i := 0; i < end; {
		semi := bytes.IndexByte(via[i:end], ';')
		if semi < 0 {
			break
		}
		p := i + semi + 1
		q := end
		if k := bytes.IndexByte(via[p:end], ';'); k >= 0 {
			q = p + k
		}
		if bytes.EqualFold(bytes.Trim(via[p:q], " \t"), []byte("rport")) {
			tail := append([]byte(nil), via[q:]...)
			dst = append(dst[:start+p], "rport="...)
			dst = strconv.AppendUint(dst, uint64(src.Port()), 10)
			dst = append(dst, ";received="...)
			dst = src.Addr().Unmap().AppendTo(dst)
			return append(dst, tail...)
		}
		i = q
	}
	return dst
}

// hasTag reports whether a To or From value has a tag parameter: one
// after the URI, outside its angle brackets.
func hasTag(v []byte) bool {
	if i := bytes.LastIndexByte(v, '>'); i >= 0 {
		v = v[i+1:]
	}
	for {
		i := bytes.IndexByte(v, ';')
		if i < 0 {
			return false
		}
		v = bytes.TrimLeft(v[i+1:], " \t")
		if len(v) >= 3 && bytes.EqualFold(v[:3], []byte("tag")) {
			r := bytes.TrimLeft(v[3:], " \t")
			if len(r) > 0 && r[0] == '=' {
				return true
			}
		}
	}
}

func appendHex(dst []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for i := 60; i >= 0; i -= 4 {
		dst = append(dst, digits[v>>uint(i)&0xf])
	}
	return dst
}
