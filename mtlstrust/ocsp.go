package mtlstrust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/sipoauth/sdk/internal/defaults"
)

// OCSPPolicy says what to do when the status cannot be learned.
type OCSPPolicy int

const (
	// OCSPSoftFail allows the peer when there is no answer, an unknown
	// status or a bad response. It is the default: an unreachable
	// responder then does not take every edge proxy down with it.
	OCSPSoftFail OCSPPolicy = iota
	// OCSPHardFail refuses the peer unless its status is known good.
	// Any value other than OCSPSoftFail is treated as OCSPHardFail.
	OCSPHardFail
)

// ErrCertificateRevoked is wrapped, with the serial number and the
// revocation time, by the error returned for a revoked certificate,
// whatever the policy.
var ErrCertificateRevoked = errors.New("mtlstrust: certificate revoked")

// ErrOCSPUnavailable is wrapped, with the reason, by the error returned
// under OCSPHardFail when the status cannot be learned or is unknown.
var ErrOCSPUnavailable = errors.New("mtlstrust: OCSP status unavailable")

const (
	ocspDefaultTimeout   = 5 * time.Second
	ocspDefaultCacheSize = 1000
	// ocspDefaultLifetime is how long a response without a NextUpdate is
	// trusted: such a response promises nothing about tomorrow, and a
	// replayed one must not vouch for a certificate forever.
	ocspDefaultLifetime = time.Hour
	// ocspClockSkew tolerates a responder whose clock runs a little ahead.
	ocspClockSkew = 5 * time.Minute
	// ocspMaxResponse bounds what is read from a responder; real
	// responses are a few KiB at most.
	ocspMaxResponse = 64 << 10
)

// OCSPChecker learns the revocation status of peer certificates with OCSP:
// from the response stapled by the peer, from its cache, or from the
// responders named in the certificate. The zero value is ready to use
// with the defaults; an OCSPChecker is safe for concurrent use and must
// not be copied after first use.
type OCSPChecker struct {
	// Policy says what to do when the status cannot be learned.
	Policy OCSPPolicy
	// Client sends the requests to responders. When nil, a client with
	// Timeout is used.
	Client *http.Client
	// Timeout bounds each responder request, default 5s.
	Timeout time.Duration
	// CacheSize bounds how many responses are cached, each until its
	// NextUpdate (or 1h without one); default 1000, negative disables
	// the cache.
	CacheSize int
	// Now gives the current time, default time.Now.
	Now func() time.Time

	mu    sync.Mutex
	cache map[ocspCacheKey]ocspStatus
}

type ocspCacheKey struct {
	issuer [sha256.Size]byte
	serial string
}

// ocspStatus is what is kept of a validated response.
type ocspStatus struct {
	status    int
	revokedAt time.Time
	reason    int
	expires   time.Time
}

// Check learns the status of leaf, issued by issuer: from the stapled
// response when given and valid, else from the cache, else by POSTing to
// each of leaf.OCSPServer (http and https URLs only) in order until one
// gives a valid response. A response is valid when it is for leaf's
// serial, signed by the issuer or by a responder certificate the issuer
// gave the OCSPSigning extended key usage, and current: its ThisUpdate at
// most 5 minutes ahead and its NextUpdate not passed (or, without one,
// its ThisUpdate less than an hour old). A revoked certificate gives an
// error wrapping ErrCertificateRevoked whatever the policy; a good one
// gives nil; anything else is decided by Policy.
func (c *OCSPChecker) Check(ctx context.Context, leaf, issuer *x509.Certificate, stapled []byte) error {
	if leaf == nil || issuer == nil || leaf.SerialNumber == nil {
		return c.unavailable(errors.New("no certificate or issuer to check"))
	}
	if ctx == nil {
		ctx = context.Background()
	}
	now := c.now()
	key := ocspCacheKey{issuer: sha256.Sum256(issuer.Raw), serial: leaf.SerialNumber.Text(16)}

	var stapledErr error
	if len(stapled) > 0 {
		st, err := validOCSPResponse(stapled, leaf, issuer, now)
		if err == nil {
			c.store(key, st, now)
			return c.verdict(leaf, st)
		}
		stapledErr = fmt.Errorf("stapled response: %w", err)
	}
	if st, ok := c.lookup(key, now); ok {
		return c.verdict(leaf, st)
	}
	st, err := c.fetch(ctx, leaf, issuer)
	if err != nil {
		return c.unavailable(joinReasons(stapledErr, err))
	}
	c.store(key, st, c.now())
	return c.verdict(leaf, st)
}

// VerifyConnection checks cs.PeerCertificates[0] against its issuer, taken
// from cs.VerifiedChains[0][1], with the response stapled in
// cs.OCSPResponse. There is nothing to check, and it returns nil, when no
// chain was verified or the leaf is its own trust anchor. It is usable
// as tls.Config.VerifyConnection or combined with other checks.
func (c *OCSPChecker) VerifyConnection(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) < 2 {
		return nil
	}
	// The handshake offers no context; Timeout bounds the wait instead.
	return c.Check(context.Background(), cs.PeerCertificates[0], cs.VerifiedChains[0][1], cs.OCSPResponse)
}

func (c *OCSPChecker) verdict(leaf *x509.Certificate, st ocspStatus) error {
	switch st.status {
	case ocsp.Good:
		return nil
	case ocsp.Revoked:
		return fmt.Errorf("%w: serial %x revoked at %s%s", ErrCertificateRevoked,
			leaf.SerialNumber, st.revokedAt.UTC().Format(time.RFC3339), revocationReason(st.reason))
	default:
		return c.unavailable(errors.New("the responder does not know the certificate"))
	}
}

func (c *OCSPChecker) unavailable(reason error) error {
	if c.Policy == OCSPSoftFail {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrOCSPUnavailable, reason)
}

func (c *OCSPChecker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *OCSPChecker) timeout() time.Duration {
	return defaults.Positive(c.Timeout, ocspDefaultTimeout)
}

func (c *OCSPChecker) fetch(ctx context.Context, leaf, issuer *x509.Certificate) (ocspStatus, error) {
	if len(leaf.OCSPServer) == 0 {
		return ocspStatus{}, errors.New("the certificate names no OCSP responder")
	}
	// SHA-1 CertIDs are what responders index by (RFC 5019); the hash
	// only names the certificate, it protects nothing.
	req, err := ocsp.CreateRequest(leaf, issuer, nil)
	if err != nil {
		return ocspStatus{}, fmt.Errorf("building the OCSP request: %w", err)
	}
	var errs []error
	for _, raw := range leaf.OCSPServer {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("responder %q: not an http or https URL", raw))
			continue
		}
		st, err := c.ask(ctx, u.String(), req, leaf, issuer)
		if err == nil {
			return st, nil
		}
		errs = append(errs, fmt.Errorf("responder %s: %w", u.Redacted(), err))
	}
	return ocspStatus{}, joinReasons(errs...)
}

// joinReasons keeps every reason on one line, as it ends up in a
// handshake log, while errors.Is still sees each of them.
func joinReasons(errs ...error) error {
	var joined error
	for _, err := range errs {
		switch {
		case err == nil:
		case joined == nil:
			joined = err
		default:
			joined = fmt.Errorf("%w; %w", joined, err)
		}
	}
	return joined
}

func (c *OCSPChecker) ask(ctx context.Context, responder string, body []byte, leaf, issuer *x509.Certificate) (ocspStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, responder, bytes.NewReader(body))
	if err != nil {
		return ocspStatus{}, err
	}
	r.Header.Set("Content-Type", "application/ocsp-request")
	r.Header.Set("Accept", "application/ocsp-response")
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: c.timeout()}
	}
	resp, err := client.Do(r)
	if err != nil {
		return ocspStatus{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ocspStatus{}, fmt.Errorf("HTTP status %s", resp.Status)
	}
	der, err := io.ReadAll(io.LimitReader(resp.Body, ocspMaxResponse+1))
	if err != nil {
		return ocspStatus{}, fmt.Errorf("reading the response: %w", err)
	}
	if len(der) > ocspMaxResponse {
		return ocspStatus{}, fmt.Errorf("response larger than %d bytes", ocspMaxResponse)
	}
	return validOCSPResponse(der, leaf, issuer, c.now())
}

// validOCSPResponse parses der and accepts it only when it speaks of
// leaf's serial, is signed for issuer and is current at now.
func validOCSPResponse(der []byte, leaf, issuer *x509.Certificate, now time.Time) (ocspStatus, error) {
	// The signature is checked here rather than by the parser, which
	// neither asks a delegated responder for the OCSPSigning usage nor
	// accepts an issuer that embeds its own certificate.
	resp, err := ocsp.ParseResponseForCert(der, leaf, nil)
	if err != nil {
		return ocspStatus{}, fmt.Errorf("bad OCSP response: %w", err)
	}
	if resp.SerialNumber == nil || resp.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		return ocspStatus{}, errors.New("OCSP response for another certificate")
	}
	if err := checkOCSPSigner(resp, issuer, now); err != nil {
		return ocspStatus{}, err
	}
	if resp.ThisUpdate.After(now.Add(ocspClockSkew)) {
		return ocspStatus{}, fmt.Errorf("OCSP response not yet valid (thisUpdate %s)", resp.ThisUpdate.UTC().Format(time.RFC3339))
	}
	expires := resp.NextUpdate
	if expires.IsZero() {
		expires = resp.ThisUpdate.Add(ocspDefaultLifetime)
		if fresh := now.Add(ocspDefaultLifetime); fresh.Before(expires) {
			expires = fresh
		}
	}
	if !now.Before(expires) {
		return ocspStatus{}, fmt.Errorf("OCSP response expired (thisUpdate %s, nextUpdate %s)",
			resp.ThisUpdate.UTC().Format(time.RFC3339), formatOCSPTime(resp.NextUpdate))
	}
	return ocspStatus{status: resp.Status, revokedAt: resp.RevokedAt, reason: resp.RevocationReason, expires: expires}, nil
}

func checkOCSPSigner(resp *ocsp.Response, issuer *x509.Certificate, now time.Time) error {
	signer := resp.Certificate
	if signer == nil || signer.Equal(issuer) {
		if err := resp.CheckSignatureFrom(issuer); err != nil {
			return fmt.Errorf("OCSP response not signed by the issuer: %w", err)
		}
		return nil
	}
	// The parser has checked the response against signer; signer must
	// now be a responder the issuer delegated to (RFC 6960 §4.2.2.2).
	if err := signer.CheckSignatureFrom(issuer); err != nil {
		return fmt.Errorf("OCSP responder certificate not issued by the issuer: %w", err)
	}
	if !slices.Contains(signer.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
		return errors.New("OCSP responder certificate lacks the OCSPSigning extended key usage")
	}
	if now.Before(signer.NotBefore) || now.After(signer.NotAfter) {
		return errors.New("OCSP responder certificate outside its validity period")
	}
	return nil
}

func formatOCSPTime(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}

var revocationReasons = map[int]string{
	ocsp.KeyCompromise:        "keyCompromise",
	ocsp.CACompromise:         "cACompromise",
	ocsp.AffiliationChanged:   "affiliationChanged",
	ocsp.Superseded:           "superseded",
	ocsp.CessationOfOperation: "cessationOfOperation",
	ocsp.CertificateHold:      "certificateHold",
	ocsp.RemoveFromCRL:        "removeFromCRL",
	ocsp.PrivilegeWithdrawn:   "privilegeWithdrawn",
	ocsp.AACompromise:         "aACompromise",
}

func revocationReason(r int) string {
	if name, ok := revocationReasons[r]; ok {
		return " (" + name + ")"
	}
	return ""
}

func (c *OCSPChecker) cacheSize() int {
	if c.CacheSize == 0 {
		return ocspDefaultCacheSize
	}
	return c.CacheSize
}

func (c *OCSPChecker) lookup(k ocspCacheKey, now time.Time) (ocspStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.cache[k]
	if !ok {
		return ocspStatus{}, false
	}
	if !now.Before(st.expires) {
		delete(c.cache, k)
		return ocspStatus{}, false
	}
	return st, true
}

func (c *OCSPChecker) store(k ocspCacheKey, st ocspStatus, now time.Time) {
	size := c.cacheSize()
	if size < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cache == nil {
		c.cache = make(map[ocspCacheKey]ocspStatus)
	}
	if _, ok := c.cache[k]; !ok && len(c.cache) >= size {
		for key, old := range c.cache {
			if !now.Before(old.expires) {
				delete(c.cache, key)
			}
		}
		// Still full: the entry closest to expiry is the least worth keeping.
		for len(c.cache) >= size {
			var victim ocspCacheKey
			var soonest time.Time
			first := true
			for key, old := range c.cache {
				if first || old.expires.Before(soonest) {
					victim, soonest, first = key, old.expires, false
				}
			}
			delete(c.cache, victim)
		}
	}
	c.cache[k] = st
}
