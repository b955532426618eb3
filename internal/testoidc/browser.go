package testoidc

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Page is the page a Browser stopped on.
type Page struct {
	// URL is where it was read from.
	URL string
	// Status is its HTTP status.
	Status int
	// Body is its text.
	Body string
}

// maxPages bounds a sign-in: the provider's pages are the user code's
// (one or two), the login, the consent, and the last one.
const maxPages = 12

var (
	formRE   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE  = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrRE   = regexp.MustCompile(`(?is)\b([a-z_-]+)\s*=\s*"([^"]*)"`)
	abortRE  = regexp.MustCompile(`(?is)<a\s+href="([^"]*/abort)"`)
	errAbort = errors.New("testoidc: no abort link on the page")
)

// Browser is a user at a web browser, on the provider's own pages (its
// development sign-in pages): it keeps cookies, follows redirects, and
// fills and submits each page's form. It is the user step of the
// authorization code and device grants in tests, and talks to 127.0.0.1
// only: whatever the pages say, it refuses to leave the loopback host.
type Browser struct {
	// User is the login to sign in as; any password is accepted.
	User string
	// UserCode is typed on the device flow's page that asks for it.
	UserCode string

	client *http.Client
}

// NewBrowser returns a browser that signs in as user.
func NewBrowser(user string) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{User: user, client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("testoidc: more than 10 redirects")
			}
			return loopbackOnly(req.URL)
		}}}
}

func loopbackOnly(u *url.URL) error {
	if h := u.Hostname(); h != "127.0.0.1" && h != "::1" {
		return fmt.Errorf("testoidc: the browser stays on the loopback host, not %q", u.Host)
	}
	return nil
}

// SignIn opens start (an authorization request, or the device flow's
// verification URI, complete or not) and goes through the pages: the user
// code, the login, the consent. It stops on the first page without a form:
// the device flow's success page or, for the authorization code grant,
// the page the client's redirect URI served, which it returns.
func (b *Browser) SignIn(ctx context.Context, start string) (Page, error) {
	return b.walk(ctx, start, false)
}

// Deny opens start and, on the provider's first sign-in page, follows its
// abort link instead of signing in: the user declines. It returns the page
// where that led (for the authorization code grant, the client's redirect
// URI with error=access_denied).
func (b *Browser) Deny(ctx context.Context, start string) (Page, error) {
	return b.walk(ctx, start, true)
}

func (b *Browser) walk(ctx context.Context, start string, abort bool) (Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, start, nil)
	if err != nil {
		return Page{}, err
	}
	for range maxPages {
		page, err := b.do(req)
		if err != nil {
			return page, err
		}
		if abort {
			if m := abortRE.FindStringSubmatch(page.Body); m != nil {
				req, err = b.request(ctx, page.URL, html.UnescapeString(m[1]), http.MethodGet, nil)
				if err != nil {
					return page, err
				}
				page, err = b.do(req)
				if err == nil && strings.Contains(page.Body, "<form") {
					err = fmt.Errorf("testoidc: a form after the abort link, at %s", page.URL)
				}
				return page, err
			}
		}
		f := formRE.FindStringSubmatch(page.Body)
		if f == nil {
			if abort {
				return page, errAbort
			}
			return page, nil
		}
		attrs := attributes(f[1])
		form := url.Values{}
		for _, in := range inputRE.FindAllStringSubmatch(f[2], -1) {
			a := attributes(in[1])
			name := a["name"]
			switch {
			case name == "":
			case name == "login":
				form.Set(name, b.User)
			case name == "password":
				form.Set(name, "any password")
			case name == "user_code" && a["value"] == "":
				form.Set(name, b.UserCode)
			default:
				form.Set(name, a["value"])
			}
		}
		method := strings.ToUpper(attrs["method"])
		if method == "" {
			method = http.MethodGet
		}
		req, err = b.request(ctx, page.URL, attrs["action"], method, form)
		if err != nil {
			return page, err
		}
	}
	return Page{}, fmt.Errorf("testoidc: more than %d pages", maxPages)
}

// request makes the request a form (or a link) on the page at base sends.
func (b *Browser) request(ctx context.Context, base, action, method string, form url.Values) (*http.Request, error) {
	bu, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	u, err := bu.Parse(action)
	if err != nil {
		return nil, err
	}
	if method != http.MethodPost {
		if len(form) > 0 {
			u.RawQuery = form.Encode()
		}
		return http.NewRequestWithContext(ctx, method, u.String(), nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

func (b *Browser) do(req *http.Request) (Page, error) {
	if err := loopbackOnly(req.URL); err != nil {
		return Page{}, err
	}
	res, err := b.client.Do(req)
	if err != nil {
		return Page{}, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	page := Page{URL: res.Request.URL.String(), Status: res.StatusCode, Body: string(body)}
	if err == nil && res.StatusCode >= 400 {
		err = fmt.Errorf("testoidc: %s answered %d: %.300s", page.URL, res.StatusCode, page.Body)
	}
	return page, err
}

// attributes reads the double-quoted attributes of a tag, unescaped.
func attributes(tag string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(tag, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2])
	}
	return m
}
