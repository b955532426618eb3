package clientlog_test

import (
	"fmt"
	"strings"

	"github.com/sipoauth/sdk/clientlog"
)

// A Jabber log, one header per line: the client registers on the OAuth
// port, is challenged, retries with its token, and the node refuses the
// registration with a port mismatch.
func ExampleAnalyze() {
	const log = `2020-03-30 13:03:18,747 DEBUG [0x00002968] [ig\CertificateVerificationHelper.cpp(35)] [csf.ecc] [csf::ecc::CertificateVerificationHelper::setSipOauthMode] - sip OAuth Mode=1
2020-03-30 13:03:19,013 INFO  [0x00002484] [\core\ccapp\config\config_parser.c(1491)] [csf.sip-call-control] [config_process_ccm_properties] - ccm0=10.10.10.1 ccm1=  ccm2= sip_oauth_port_0=5090 sip_oauth_port_1=5090 sip_oauth_port_2=5090 length=0
2020-03-30 13:03:19,100 DEBUG [0x00000e2c] [sipstack\sip_transport_connection.c(431)] [csf.sip-call-control] [sip_create_transport_connection] - [SIP][CONN][0] create TLS connection 10.10.10.10:5061-----10.10.10.1:5090.
2020-03-30 13:03:19,200 DEBUG [0x00000e2c] [\sipcc\core\sipstack\ccsip_debug.c(1041)] [csf.sip-call-control] [platform_print_sip_msg] - sipio-sent---> REGISTER sip:10.10.10.1 SIP/2.0
Via: SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK00001188
Call-ID: 88232345-12340017-00001c0b-00000cfa@10.10.10.10
CSeq: 2270 REGISTER
Expires: 3600
Content-Length: 0

2020-03-30 13:03:19,310 DEBUG [0x00000e2c] [\sipcc\core\sipstack\ccsip_debug.c(1041)] [csf.sip-call-control] [platform_print_sip_msg] - sipio-recv<--- SIP/2.0 407 Proxy Authentication Required
Via: SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK00001188
Call-ID: 88232345-12340017-00001c0b-00000cfa@10.10.10.10
CSeq: 2270 REGISTER
Proxy-Authenticate: Bearer realm="ccmsipline"
Content-Length: 0

2020-03-30 13:03:19,310 DEBUG [0x00000e2c] [\sipcc\core\sipstack\ccsip_debug.c(1041)] [csf.sip-call-control] [platform_print_sip_msg] - sipio-sent---> REGISTER sip:10.10.10.1 SIP/2.0
Via: SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK00004a82
Call-ID: 88232345-12340017-00001c0b-00000cfa@10.10.10.10
CSeq: 2271 REGISTER
Proxy-Authorization: Bearer token="eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyYWRvIn0.c2lnbmF0dXJl"
Expires: 3600
Content-Length: 0

2020-03-30 13:03:19,325 DEBUG [0x00000e2c] [\sipcc\core\sipstack\ccsip_debug.c(1041)] [csf.sip-call-control] [platform_print_sip_msg] - sipio-recv<--- SIP/2.0 403 Forbidden
Via: SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK00004a82
Call-ID: 88232345-12340017-00001c0b-00000cfa@10.10.10.10
CSeq: 2271 REGISTER
Retry-After: 35
Warning: 399 UCM2-PUB "SIP OAuth Registration port Mismatch"
Content-Length: 0
`
	rep, err := clientlog.Analyze(strings.NewReader(log), clientlog.Options{})
	if err != nil {
		panic(err)
	}
	for _, e := range rep.Timeline {
		fmt.Printf("%2d %-11s %s\n", e.Line, e.Kind, e.Text)
	}
	for _, f := range rep.Findings {
		fmt.Println(f.Severity, f.Code, f.Path)
	}
	// Output:
	//  1 oauth-mode  SIP OAuth mode 1 (enabled)
	//  2 nodes       ccm0=10.10.10.1:5090
	//  3 connection  TLS connection 10.10.10.10:5061 → 10.10.10.1:5090 (the OAuth port announced for ccm0)
	//  4 sent        REGISTER sip:10.10.10.1 (CSeq 2270, no token)
	// 11 received    407 Proxy Authentication Required (CSeq 2270)
	// 18 sent        REGISTER sip:10.10.10.1 (CSeq 2271, token)
	// 26 received    403 Forbidden (CSeq 2271)
	// error log-port-mismatch line 26
}
