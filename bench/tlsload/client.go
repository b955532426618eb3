package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/icholy/digest"
)

// maxHeaderBytes bounds one SIP message's start line and headers; maxBody its body.
const (
	maxHeaderBytes = 64 << 10
	maxBody        = 64 << 10
)

// client is the state shared by the connections of a run.
type client struct {
	cfg    config
	target netip.AddrPort
	tls    *tls.Config
	creds  []cred
	next   atomic.Uint64 // next device, in file order, wrapping around
	pids   []int
}

func newClient(c config, creds []cred) (*client, error) {
	ap, err := loopback(c.target)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: ap.Addr().String()}
	if c.ca != "" {
		pem, err := os.ReadFile(c.ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-ca %s: no PEM certificate", c.ca)
		}
		tc.RootCAs = pool
	} else {
		tc.InsecureSkipVerify = true //nolint:gosec // loopback only; -ca verifies
	}
	return &client{cfg: c, target: ap, tls: tc, creds: creds, pids: processTree(c.pid)}, nil
}

// conn is one persistent TLS connection and what it needs to send.
type conn struct {
	c     *tls.Conn
	r     *bufio.Reader
	local string // host:port of this end, for Via and Contact
	buf   []byte
}

// dial opens and handshakes one connection.
func (cl *client) dial(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, cl.cfg.timeout)
	defer cancel()
	d := tls.Dialer{Config: cl.tls}
	nc, err := d.DialContext(ctx, "tcp", cl.target.String())
	if err != nil {
		return nil, err
	}
	tc := nc.(*tls.Conn)
	return &conn{c: tc, r: bufio.NewReaderSize(tc, 4096), local: tc.LocalAddr().String()}, nil
}

func (c *conn) close() { _ = c.c.Close() }

// outcome of one registration.
var (
	errStatus  = errors.New("unexpected answer")
	errTimeout = errors.New("no answer in time")
)

// register runs one device's registration on c: REGISTER, 407,
// REGISTER with credentials, 200. An error other than errStatus means
// the connection is unusable.
func (cl *client) register(c *conn, d cred) error {
	callID := randHex(12) + "@tlsload"
	tag := randHex(6)
	uri := "sip:" + hostport(cl.target)
	deadline := time.Now().Add(cl.cfg.timeout)
	if err := c.send(cl.request(c, d, uri, callID, tag, 1, ""), deadline); err != nil {
		return err
	}
	st, hdrs, err := c.answer(deadline)
	if err != nil {
		return err
	}
	if st != 407 {
		return fmt.Errorf("%w: %d to the first REGISTER, want 407", errStatus, st)
	}
	var auth string
	switch cl.cfg.auth {
	case "bearer":
		if ch := hdrs["proxy-authenticate"]; !strings.HasPrefix(strings.TrimSpace(ch), "Bearer") {
			return fmt.Errorf("%w: 407 without a Bearer challenge: %q", errStatus, ch)
		}
		auth = `Bearer token="` + d.secret + `"`
	case "digest":
		chal, err := digest.ParseChallenge(hdrs["proxy-authenticate"])
		if err != nil {
			return fmt.Errorf("%w: 407 challenge: %v", errStatus, err)
		}
		cr, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: uri, Username: d.digestUser, Password: d.secret, Count: 1})
		if err != nil {
			return fmt.Errorf("%w: digest: %v", errStatus, err)
		}
		auth = cr.String()
	}
	deadline = time.Now().Add(cl.cfg.timeout)
	if err := c.send(cl.request(c, d, uri, callID, tag, 2, auth), deadline); err != nil {
		return err
	}
	st, _, err = c.answer(deadline)
	if err != nil {
		return err
	}
	if st != 200 {
		return fmt.Errorf("%w: %d to the REGISTER with credentials, want 200", errStatus, st)
	}
	return nil
}

func hostport(ap netip.AddrPort) string { return ap.String() }

// request builds a Jabber-shaped REGISTER.
func (cl *client) request(c *conn, d cred, uri, callID, tag string, cseq int, auth string) []byte {
	host := cl.target.Addr().String()
	if cl.target.Addr().Is6() {
		host = "[" + host + "]"
	}
	b := c.buf[:0]
	b = append(b, "REGISTER "+uri+" SIP/2.0\r\n"...)
	b = append(b, "Via: SIP/2.0/TLS "+c.local+";branch=z9hG4bK"+randHex(8)+";rport\r\n"...)
	b = append(b, "Max-Forwards: 70\r\n"...)
	b = append(b, "From: <sip:"+d.user+"@"+host+">;tag="+tag+"\r\n"...)
	b = append(b, "To: <sip:"+d.user+"@"+host+">\r\n"...)
	b = append(b, "Call-ID: "+callID+"\r\n"...)
	b = append(b, "CSeq: "+strconv.Itoa(cseq)+" REGISTER\r\n"...)
	b = append(b, "Contact: <sip:"+d.user+"@"+c.local+";transport=tls>;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-"+
		fmt.Sprintf("%012x", hashName(d.device))+">\";+u.sip!devicename.ccm.cisco.com=\""+d.device+"\";+u.sip!model.ccm.cisco.com=\"503\"\r\n"...)
	if auth != "" {
		b = append(b, "Proxy-Authorization: "+auth+"\r\n"...)
	}
	b = append(b, "Expires: "+strconv.Itoa(cl.cfg.expires)+"\r\nUser-Agent: Cisco-CSF tlsload\r\nContent-Length: 0\r\n\r\n"...)
	c.buf = b
	return b
}

func hashName(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h & (1<<48 - 1)
}

func (c *conn) send(b []byte, deadline time.Time) error {
	if err := c.c.SetWriteDeadline(deadline); err != nil {
		return err
	}
	_, err := c.c.Write(b)
	return timeoutErr(err)
}

// answer reads the next final response: its status and headers (lower
// case names, compact forms expanded; the last of repeated headers).
// Provisional responses are skipped.
func (c *conn) answer(deadline time.Time) (int, map[string]string, error) {
	if err := c.c.SetReadDeadline(deadline); err != nil {
		return 0, nil, err
	}
	for {
		start, hdrs, err := readMessage(c.r)
		if err != nil {
			return 0, nil, timeoutErr(err)
		}
		f := strings.Fields(start)
		if len(f) < 2 || f[0] != "SIP/2.0" {
			return 0, nil, fmt.Errorf("not a response: %q", start)
		}
		st, err := strconv.Atoi(f[1])
		if err != nil || st < 100 || st > 699 {
			return 0, nil, fmt.Errorf("bad status line %q", start)
		}
		if st >= 200 {
			return st, hdrs, nil
		}
	}
}

func timeoutErr(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errTimeout
	}
	return err
}

var compact = map[string]string{"l": "content-length", "v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact"}

// readMessage reads one SIP message from a stream: the start line, the
// headers and the body (by Content-Length, discarded). Empty lines before
// the start line (keep-alives) are skipped.
func readMessage(r *bufio.Reader) (string, map[string]string, error) {
	n := 0
	line := func() (string, error) {
		s, err := r.ReadSlice('\n')
		n += len(s)
		if errors.Is(err, bufio.ErrBufferFull) || n > maxHeaderBytes {
			return "", errors.New("header too long")
		}
		if err != nil {
			if errors.Is(err, io.EOF) && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		return strings.TrimRight(string(s), "\r\n"), nil
	}
	var start string
	for start == "" {
		s, err := line()
		if err != nil {
			return "", nil, err
		}
		start = s
	}
	hdrs := map[string]string{}
	for {
		s, err := line()
		if err != nil {
			return "", nil, err
		}
		if s == "" {
			break
		}
		k, v, ok := strings.Cut(s, ":")
		if !ok {
			return "", nil, fmt.Errorf("bad header line %q", s)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if long, ok := compact[k]; ok {
			k = long
		}
		hdrs[k] = strings.TrimSpace(v)
	}
	if cl := hdrs["content-length"]; cl != "" {
		size, err := strconv.Atoi(cl)
		if err != nil || size < 0 || size > maxBody {
			return "", nil, fmt.Errorf("bad Content-Length %q", cl)
		}
		if _, err := r.Discard(size); err != nil {
			return "", nil, err
		}
	}
	return start, hdrs, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand does not fail on Linux
	return hex.EncodeToString(b)
}

// nextCred is the next device in file order.
func (cl *client) nextCred() cred {
	return cl.creds[(cl.next.Add(1)-1)%uint64(len(cl.creds))]
}

// openConns opens n connections at the connect rate, at most 64
// handshakes at once, and calls each(i, conn) on every one opened
// (concurrently). It returns the connections opened and the first errors.
func (cl *client) openConns(ctx context.Context, n int, each func(int, *conn) error) ([]*conn, int, []error) {
	conns := make([]*conn, n)
	var failed atomic.Int64
	var mu sync.Mutex
	var errs []error
	note := func(err error) {
		failed.Add(1)
		mu.Lock()
		if len(errs) < 5 {
			errs = append(errs, err)
		}
		mu.Unlock()
	}
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		if wait := time.Until(start.Add(time.Duration(float64(i) / cl.cfg.connectRate * float64(time.Second)))); wait > 0 {
			time.Sleep(wait)
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := cl.dial(ctx)
			if err != nil {
				note(fmt.Errorf("connect: %w", err))
				return
			}
			if each != nil {
				if err := each(i, c); err != nil {
					note(err)
				}
			}
			conns[i] = c
		})
	}
	wg.Wait()
	var open []*conn
	for _, c := range conns {
		if c != nil {
			open = append(open, c)
		}
	}
	return open, int(failed.Load()), errs
}
