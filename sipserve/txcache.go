package sipserve

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/sipmsg"
)

// txCache keeps the answers sent over UDP for the retransmissions of
// their requests, the role RFC 3261 §17.2.2 gives a non-INVITE server
// transaction, within a bound on its memory: a key per request being
// handled (so that its retransmissions are dropped meanwhile), then the
// bytes of its answer until they expire or the bound pushes them out,
// oldest first.
type txCache struct {
	maxBytes int
	ttl      time.Duration
	now      func() time.Time

	mu    sync.Mutex
	m     map[string]*txEntry
	queue []*txEntry // answered entries, oldest first, from head
	head  int
	bytes int
}

type txEntry struct {
	key    string
	from   string // the source of the request, to which alone the answer goes again
	answer []byte // nil while the request is being handled
	until  time.Time
	resent int
}

// maxResends bounds how often one answer is sent again: about what a
// client retransmits a non-INVITE request within Timer F (500 ms doubling
// to 4 s, for 32 s), so that a kept answer cannot be made to flood.
const maxResends = 11

// maxKeptAnswer is the largest answer kept: a registrar's UDP answers stay
// within 1,300 bytes, and a large one would push out many others.
const maxKeptAnswer = 8 << 10

// entryOverhead is what an entry costs besides its key and answer: the
// entry, its map slot and its queue slot.
const entryOverhead = 128

func newTxCache(maxBytes int, ttl time.Duration) *txCache {
	return &txCache{maxBytes: maxBytes, ttl: ttl, now: time.Now, m: map[string]*txEntry{}}
}

// verdict is what to do with a request that arrived over UDP.
type verdict int

const (
	handleIt verdict = iota // new: handle it (the cache now holds its key)
	resend                  // answered already: send the answer again
	absorb                  // being handled, or resent enough: drop it
	stranger                // the key of another source's request: handle it, keep nothing
)

// begin looks key up for a request from the source from: a new request is
// marked as being handled. The same key from another source is not a
// retransmission (a different client whose branch and sent-by are the
// same, or a forged copy): it is handled on its own, and never given
// another source's answer.
func (c *txCache) begin(key, from string) (verdict, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		switch {
		case e.from != from:
			return stranger, nil
		case e.answer == nil:
			return absorb, nil
		case !c.now().Before(e.until):
			// Expired: its queue slot goes when the queue reaches it.
			delete(c.m, key)
		case e.resent >= maxResends:
			return absorb, nil
		default:
			e.resent++
			return resend, e.answer
		}
	}
	c.m[key] = &txEntry{key: key, from: from}
	return handleIt, nil
}

// finish keeps the answer to the request of key, and lets the bound and
// the time push out the oldest answers.
func (c *txCache) finish(key string, answer []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || e.answer != nil {
		return
	}
	now := c.now()
	size := entrySize(e, answer)
	if size > c.maxBytes || len(answer) > maxKeptAnswer {
		delete(c.m, key)
		return
	}
	e.answer, e.until = answer, now.Add(c.ttl)
	c.queue = append(c.queue, e)
	c.bytes += size
	for c.head < len(c.queue) {
		old := c.queue[c.head]
		if c.bytes <= c.maxBytes && now.Before(old.until) {
			break
		}
		c.queue[c.head] = nil
		c.head++
		c.bytes -= entrySize(old, old.answer)
		if c.m[old.key] == old {
			delete(c.m, old.key)
		}
	}
	// Reclaim the queue's front once it is most of the slice.
	if c.head > 1024 && c.head*2 > len(c.queue) {
		n := copy(c.queue, c.queue[c.head:])
		clear(c.queue[n:])
		c.queue, c.head = c.queue[:n], 0
	}
}

// entrySize is what the cache counts for e holding answer.
func entrySize(e *txEntry, answer []byte) int {
	return len(e.key) + len(e.from) + len(answer) + entryOverhead
}

// abandon forgets a request that got no answer (an ACK, say).
func (c *txCache) abandon(key string) {
	c.mu.Lock()
	if e, ok := c.m[key]; ok && e.answer == nil {
		delete(c.m, key)
	}
	c.mu.Unlock()
}

// size returns how many answers are kept and their bytes.
func (c *txCache) size() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue) - c.head, c.bytes
}

// txKey is the key of req's server transaction (RFC 3261 §17.2.3): the
// top Via's branch and sent-by, and the method (CANCEL and ACK aside,
// the CSeq method). A branch without the magic cookie is of an RFC 2543
// client: then the Request-URI, the tags, Call-ID, CSeq and the top Via
// as a whole. False when the request has no Via, CSeq or Call-ID.
func txKey(req *sip.Request) (string, bool) {
	via, cseq, callID := req.Via(), req.CSeq(), req.CallID()
	if via == nil || cseq == nil || callID == nil {
		return "", false
	}
	var b strings.Builder
	if branch, ok := sipmsg.Branch(req); ok {
		b.Grow(len(branch) + len(via.Host) + 24)
		b.WriteString(branch)
		b.WriteByte(0)
		b.WriteString(via.Host)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(via.Port))
		b.WriteByte(0)
		b.WriteString(string(req.Method))
		return b.String(), true
	}
	b.WriteString("2543\x00")
	b.WriteString(req.Recipient.String())
	b.WriteByte(0)
	if f := req.From(); f != nil {
		tag, _ := f.Params.Get("tag")
		b.WriteString(tag)
	}
	b.WriteByte(0)
	if t := req.To(); t != nil {
		tag, _ := t.Params.Get("tag")
		b.WriteString(tag)
	}
	b.WriteByte(0)
	b.WriteString(callID.Value())
	b.WriteByte(0)
	b.WriteString(strconv.FormatUint(uint64(cseq.SeqNo), 10))
	b.WriteByte(0)
	b.WriteString(string(req.Method))
	b.WriteByte(0)
	b.WriteString(via.Value())
	return b.String(), true
}
