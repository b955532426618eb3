package sipauth

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestDeviceName(t *testing.T) {
	t.Parallel()
	contact := func(params string) *sip.ContactHeader {
		t.Helper()
		msg, err := sip.ParseMessage([]byte("REGISTER sip:h SIP/2.0\r\nContact: <sip:rado@10.0.0.1>" + params + "\r\nContent-Length: 0\r\n\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		return msg.(*sip.Request).Contact()
	}
	for _, tc := range []struct {
		name     string
		contacts []string
		want     string
		ok       bool
	}{
		{"cisco", []string{`;+u.sip!devicename.ccm.cisco.com="CSFrado"`}, "CSFrado", true},
		{"name in other case", []string{`;+U.SIP!DeviceName.ccm.cisco.com="CSFrado"`}, "CSFrado", true},
		{"unquoted", []string{`;+u.sip!devicename.ccm.cisco.com=CSFrado`}, "CSFrado", true},
		{"none: the To user", []string{`;expires=60`}, "rado", true},
		{"no contacts", nil, "rado", true},
		{"empty value: the To user", []string{`;+u.sip!devicename.ccm.cisco.com=""`}, "rado", true},
		{"same device twice", []string{`;+u.sip!devicename.ccm.cisco.com="CSFrado"`, `;+u.sip!devicename.ccm.cisco.com="CSFrado"`}, "CSFrado", true},
		{"one named, one not", []string{`;expires=60`, `;+u.sip!devicename.ccm.cisco.com="CSFrado"`}, "CSFrado", true},
		{"two devices", []string{`;+u.sip!devicename.ccm.cisco.com="CSFrado"`, `;+u.sip!devicename.ccm.cisco.com="CSFbob"`}, "", false},
		{"case of the value counts", []string{`;+u.sip!devicename.ccm.cisco.com="CSFrado"`, `;+u.sip!devicename.ccm.cisco.com="csfrado"`}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cs []*sip.ContactHeader
			for _, p := range tc.contacts {
				cs = append(cs, contact(p))
			}
			got, ok := DeviceName(cs, "rado")
			if got != tc.want || ok != tc.ok {
				t.Fatalf("DeviceName = %q, %v; want %q, %v (%s)", got, ok, tc.want, tc.ok, strings.Join(tc.contacts, " | "))
			}
		})
	}
}
