package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
)

// maxCreds bounds the credentials file, in lines.
const maxCreds = 1_000_000

// cred is one device's identity and secret.
type cred struct {
	user, device string
	secret       string // the token (bearer) or the password (digest)
	digestUser   string // the digest user name (digest)
}

// readCreds reads a credentials file: SIPp injection lines
// user;device;token or user;device;[authentication username=U password=P],
// after an optional SEQUENTIAL or RANDOM line. Empty lines and lines
// starting with # are skipped.
func readCreds(path, auth string) ([]cred, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cred
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || (n == 1 && (line == "SEQUENTIAL" || line == "RANDOM" || line == "USER")) {
			continue
		}
		if len(out) == maxCreds {
			return nil, fmt.Errorf("%s: more than %d credentials", path, maxCreds)
		}
		c, err := parseCred(line, auth)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no credentials", path)
	}
	return out, nil
}

func parseCred(line, auth string) (cred, error) {
	f := strings.Split(line, ";")
	if len(f) != 3 {
		return cred{}, fmt.Errorf("want user;device;secret, got %d fields", len(f))
	}
	c := cred{user: f[0], device: f[1], secret: f[2], digestUser: f[0]}
	for _, s := range []string{c.user, c.device} {
		if s == "" || strings.ContainsAny(s, " \t\"<>@:;,\r\n") {
			return cred{}, fmt.Errorf("bad user or device name %q", s)
		}
	}
	if auth == "digest" {
		if strings.HasPrefix(c.secret, "[authentication ") && strings.HasSuffix(c.secret, "]") {
			for _, kv := range strings.Fields(strings.TrimSuffix(strings.TrimPrefix(c.secret, "[authentication "), "]")) {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "username":
					c.digestUser = v
				case "password":
					c.secret = v
				}
			}
			if strings.HasPrefix(c.secret, "[") {
				return cred{}, errors.New("[authentication ...] without password=")
			}
		}
	} else if strings.ContainsAny(c.secret, "\" \t\r\n") || c.secret == "" {
		return cred{}, errors.New("bad token: empty, or with quotes or spaces")
	}
	return c, nil
}
