// Package sipmsg makes sipgo's SIP messages as sipgo's own functions do,
// with the same result and fewer allocations.
//
// Parse parses one whole SIP message as sipgo's Parser.ParseSIP does.
// The start line and header section of a request become one string, and
// every header's name and value a part of it, where sipgo makes a string of each line and
// of each unknown header's name and value. The values themselves go
// through sipgo's own header parsers (sip.DefaultHeadersParser), so a
// Via, a Contact or a CSeq is what sipgo would make of it. What this
// package does not handle itself (responses, folded lines, a header
// holding several comma-separated values, anything sipgo refuses) it
// hands to sipgo's parser whole, so the message or the error is sipgo's.
//
// Because the headers share the message's string, whatever keeps a
// header's string beyond the request keeps the whole header section
// alive; stores copy what they keep (strings.Clone).
//
// NewResponse builds the answer to a request as sip.NewResponseFromRequest
// does, sharing the request's header values instead of copying them.
package sipmsg
