package client

import (
	"strings"
	"testing"
)

func TestLocalPath(t *testing.T) {
	for _, tc := range []struct {
		in, path string
		local    bool
		err      bool
	}{
		{"http://10.10.10.1:6970/CSFrado.cnf.xml", "", false, false},
		{"HTTPS://cucm.example.com:6972/", "", false, false},
		{"/etc/sipoauth/CSFrado.cnf.xml", "/etc/sipoauth/CSFrado.cnf.xml", true, false},
		{"deploy/CSFrado.cnf.xml", "deploy/CSFrado.cnf.xml", true, false},
		{"./a:b/CSFrado.cnf.xml", "./a:b/CSFrado.cnf.xml", true, false},
		{"file:///etc/sipoauth/tftp%20dir/CSFrado.cnf.xml", "/etc/sipoauth/tftp dir/CSFrado.cnf.xml", true, false},
		{"FILE://localhost/etc/CSFrado.cnf.xml", "/etc/CSFrado.cnf.xml", true, false},
		{"file:deploy/CSFrado.cnf.xml", "deploy/CSFrado.cnf.xml", true, false},
		{"file://cucm/CSFrado.cnf.xml", "", false, true},
		{"file:///%zz", "", false, true},
	} {
		path, local, err := localPath(tc.in)
		if path != tc.path || local != tc.local || (err != nil) != tc.err {
			t.Errorf("localPath(%q) = %q, %v, %v; want %q, %v, error %v", tc.in, path, local, err, tc.path, tc.local, tc.err)
		}
	}
}

func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"http://10.10.10.1:6970/", "/etc/x.cnf.xml", "file:///x", "file://h/x", "file:x", "c:\\x", ":", "file:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		path, local, err := localPath(s)
		if err != nil && local {
			t.Fatalf("%q: local and an error", s)
		}
		if lower := strings.ToLower(s); (strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")) && (local || err != nil) {
			t.Fatalf("%q: an HTTP URL taken as a local path %q (%v)", s, path, err)
		}
		if !local && path != "" {
			t.Fatalf("%q: path %q for a URL", s, path)
		}
	})
}
