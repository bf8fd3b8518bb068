package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func mustResolver(t testing.TB, header string, trusted ...string) *Resolver {
	t.Helper()
	p, err := ParsePrefixes(trusted...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{TrustedProxies: p, Header: header})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func request(remote string, headers map[string][]string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = remote
	for k, v := range headers {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	return req
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	proxies := []string{"10.0.0.0/8", "fd00::/8", "192.0.2.1"}
	tests := []struct {
		name    string
		header  string
		trusted []string
		remote  string
		headers map[string][]string
		want    string
	}{
		{"no proxies: remote addr", "", nil, "203.0.113.9:1234", nil, "203.0.113.9"},
		{"no proxies: XFF ignored", "", nil, "203.0.113.9:1234", map[string][]string{"X-Forwarded-For": {"1.1.1.1"}}, "203.0.113.9"},
		{"bare remote addr", "", nil, "203.0.113.9", nil, "203.0.113.9"},
		{"ipv6 remote", "", nil, "[2001:db8::5]:443", nil, "2001:db8::5"},
		{"mapped remote is unmapped", "", nil, "[::ffff:203.0.113.9]:1", nil, "203.0.113.9"},
		{"zone dropped", "", nil, "[fe80::1%eth0]:1", nil, "fe80::1"},
		{"trusted proxy: one hop", "", proxies, "10.1.1.1:80", map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7"},
		{"trusted proxy: rightmost untrusted", "", proxies, "10.1.1.1:80", map[string][]string{"X-Forwarded-For": {"6.6.6.6, 198.51.100.7, 10.2.2.2"}}, "198.51.100.7"},
		{"trusted proxy: several lines", "", proxies, "10.1.1.1:80", map[string][]string{"X-Forwarded-For": {"6.6.6.6", "198.51.100.7, 10.2.2.2"}}, "198.51.100.7"},
		{"all hops trusted: leftmost", "", proxies, "10.1.1.1:80", map[string][]string{"X-Forwarded-For": {"10.3.3.3, 10.2.2.2"}}, "10.3.3.3"},
		{"xff with ports", "", proxies, "10.1.1.1:80", map[string][]string{"X-Forwarded-For": {"[2001:db8::9]:5555, 198.51.100.7:80"}}, "198.51.100.7"},
		{"xff ipv6", "", proxies, "[fd00::1]:80", map[string][]string{"X-Forwarded-For": {"2001:db8::9"}}, "2001:db8::9"},
		{"xff mapped unmapped", "", proxies, "10.1.1.1:80", map[string][]string{"X-Forwarded-For": {"::ffff:198.51.100.7"}}, "198.51.100.7"},
		{"single address trusted proxy", "", proxies, "192.0.2.1:80", map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7"},
		{"proxy not trusted: header ignored", "", proxies, "192.0.2.2:80", map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, "192.0.2.2"},
		{"no header from trusted proxy", "", proxies, "10.1.1.1:80", nil, "10.1.1.1"},
		{"forwarded simple", Forwarded, proxies, "10.1.1.1:80", map[string][]string{"Forwarded": {"for=198.51.100.7;proto=https"}}, "198.51.100.7"},
		{"forwarded quoted v6 with port", Forwarded, proxies, "10.1.1.1:80", map[string][]string{"Forwarded": {`for="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17"},
		{"forwarded chain", Forwarded, proxies, "10.1.1.1:80", map[string][]string{"Forwarded": {"for=6.6.6.6, for=198.51.100.7;by=10.0.0.1, For=10.2.2.2"}}, "198.51.100.7"},
		{"forwarded case-insensitive key", Forwarded, proxies, "10.1.1.1:80", map[string][]string{"Forwarded": {"FOR=198.51.100.7"}}, "198.51.100.7"},
		{"forwarded comma inside quotes", Forwarded, proxies, "10.1.1.1:80", map[string][]string{"Forwarded": {`for=198.51.100.7;x="a,b"`}}, "198.51.100.7"},
		{"single header", "CF-Connecting-IP", proxies, "10.1.1.1:80", map[string][]string{"Cf-Connecting-Ip": {" 198.51.100.7 "}}, "198.51.100.7"},
		{"single header repeated refused", "CF-Connecting-IP", proxies, "10.1.1.1:80", map[string][]string{"Cf-Connecting-Ip": {"198.51.100.7", "6.6.6.6"}}, ""},
		{"single header empty: absent", "CF-Connecting-IP", proxies, "10.1.1.1:80", map[string][]string{"Cf-Connecting-Ip": {" "}}, "10.1.1.1"},
		{"single header malformed: unknown", "CF-Connecting-IP", proxies, "10.1.1.1:80", map[string][]string{"Cf-Connecting-Ip": {"nope"}}, ""},
		{"xff empty element left (ReverseProxy, nginx)", "", proxies, "10.1.1.1:80", map[string][]string{"X-Forwarded-For": {", 203.0.113.5"}}, "203.0.113.5"},
		{"xff whitespace elements", "", proxies, "10.1.1.1:80", map[string][]string{"X-Forwarded-For": {" \t, ,203.0.113.5 , "}}, "203.0.113.5"},
		{"xff empty line before", "", proxies, "10.1.1.1:80", map[string][]string{"X-Forwarded-For": {"", "203.0.113.5"}}, "203.0.113.5"},
		{"xff empty element between trusted hops", "", proxies, "10.1.1.1:80", map[string][]string{"X-Forwarded-For": {"203.0.113.5, , 10.2.2.2"}}, "203.0.113.5"},
		{"xff only empty elements: absent", "", proxies, "10.1.1.1:80", map[string][]string{"X-Forwarded-For": {" , ,", ""}}, "10.1.1.1"},
		{"forwarded empty element left", Forwarded, proxies, "10.1.1.1:80", map[string][]string{"Forwarded": {", for=203.0.113.5"}}, "203.0.113.5"},
		{"forwarded whitespace elements", Forwarded, proxies, "10.1.1.1:80", map[string][]string{"Forwarded": {" , for=203.0.113.5 ,", " "}}, "203.0.113.5"},
		{"forwarded only empty: absent", Forwarded, proxies, "10.1.1.1:80", map[string][]string{"Forwarded": {", "}}, "10.1.1.1"},
		{"xff malformed: unknown, not the proxy", "", proxies, "10.1.1.1:80", map[string][]string{"X-Forwarded-For": {"garbage"}}, ""},
		{"xff malformed after trusted hops: unknown", "", proxies, "10.1.1.1:80", map[string][]string{"X-Forwarded-For": {"garbage, 10.2.2.2"}}, ""},
		{"forwarded without for: unknown", Forwarded, proxies, "10.1.1.1:80", map[string][]string{"Forwarded": {"proto=https"}}, ""},
		{"unparsable remote", "", nil, "not-an-addr", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustResolver(t, tt.header, tt.trusted...)
			got := r.ClientIP(request(tt.remote, tt.headers))
			if tt.want == "" {
				if got.IsValid() {
					t.Fatalf("got %v, want invalid", got)
				}
				return
			}
			if got != netip.MustParseAddr(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSpoofing lists attempts by a client to choose its own address. Every
// one must resolve to the address the trusted proxy saw (198.51.100.7) or to
// no address ("") when the header is unusable; never to the attacker's pick,
// and never to a trusted hop.
func TestSpoofing(t *testing.T) {
	t.Parallel()
	const attacker = "6.6.6.6"
	proxies := []string{"10.0.0.0/8"}
	tests := []struct {
		name    string
		header  string
		remote  string
		headers map[string][]string
		want    string
	}{
		{"direct client sends XFF", "", "198.51.100.7:1", map[string][]string{"X-Forwarded-For": {attacker}}, "198.51.100.7"},
		{"direct client sends Forwarded", "", "198.51.100.7:1", map[string][]string{"Forwarded": {"for=" + attacker}}, "198.51.100.7"},
		{"direct client sends X-Real-IP", "", "198.51.100.7:1", map[string][]string{"X-Real-Ip": {attacker}}, "198.51.100.7"},
		{"direct client sends trusted-looking XFF", "", "198.51.100.7:1", map[string][]string{"X-Forwarded-For": {"10.0.0.1"}}, "198.51.100.7"},
		{"prepended spoof through proxy", "", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {attacker + ", 198.51.100.7"}}, "198.51.100.7"},
		{"spoof on an earlier header line", "", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {attacker, "198.51.100.7"}}, "198.51.100.7"},
		{"spoofed trusted hop then real", "", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {attacker + ", 10.9.9.9, 198.51.100.7"}}, "198.51.100.7"},
		{"garbage after real: no leftward fallback", "", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {attacker + ", garbage"}}, ""},
		{"empty element skipped, peer still wins", "", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {attacker + ", , 198.51.100.7"}}, "198.51.100.7"},
		{"empty header line skipped, peer still wins", "", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {attacker, "", ", 198.51.100.7"}}, "198.51.100.7"},
		{"trailing comma after the peer", "", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {attacker + ", 198.51.100.7,"}}, "198.51.100.7"},
		{"CRLF injection", "", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {attacker + "\r\nX: y"}}, ""},
		{"zone in xff", "", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {"fe80::1%eth0"}}, ""},
		{"hostname in xff", "", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {"localhost"}}, ""},
		{"overlong port", "", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {attacker + ":1234567"}}, ""},
		{"forwarded when proxy uses XFF", "", "10.0.0.1:1", map[string][]string{"Forwarded": {"for=" + attacker}, "X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7"},
		{"xff when proxy uses Forwarded", Forwarded, "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {attacker}, "Forwarded": {"for=198.51.100.7"}}, "198.51.100.7"},
		{"forwarded obfuscated", Forwarded, "10.0.0.1:1", map[string][]string{"Forwarded": {"for=" + attacker + ", for=_hidden"}}, ""},
		{"forwarded unknown", Forwarded, "10.0.0.1:1", map[string][]string{"Forwarded": {"for=" + attacker + ", for=unknown"}}, ""},
		{"forwarded unterminated quote", Forwarded, "10.0.0.1:1", map[string][]string{"Forwarded": {`for="` + attacker}}, ""},
		{"forwarded unterminated quote left of the proxy's element", Forwarded, "10.0.0.1:1", map[string][]string{"Forwarded": {`for="` + attacker + `, for=198.51.100.7`}}, "198.51.100.7"},
		{"forwarded escaped quote", Forwarded, "10.0.0.1:1", map[string][]string{"Forwarded": {`for=198.51.100.7;x="a\", for=` + attacker + `"`}}, "198.51.100.7"},
		{"forwarded element without for", Forwarded, "10.0.0.1:1", map[string][]string{"Forwarded": {"for=" + attacker + ", proto=https"}}, ""},
		{"forwarded quoted comma smuggling", Forwarded, "10.0.0.1:1", map[string][]string{"Forwarded": {`for=198.51.100.7;x=", for=` + attacker + `"`}}, "198.51.100.7"},
		{"single header from untrusted peer", "X-Real-IP", "198.51.100.7:1", map[string][]string{"X-Real-Ip": {attacker}}, "198.51.100.7"},
		{"single header list", "X-Real-IP", "10.0.0.1:1", map[string][]string{"X-Real-Ip": {attacker + ", 198.51.100.7"}}, ""},
		{"mapped trusted proxy peer", "", "[::ffff:10.0.0.1]:1", map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustResolver(t, tt.header, proxies...)
			got := r.ClientIP(request(tt.remote, tt.headers))
			if got == netip.MustParseAddr(attacker) {
				t.Fatalf("spoofed: resolved to the attacker's choice %v", got)
			}
			if tt.want == "" {
				if got.IsValid() {
					t.Fatalf("got %v, want no address", got)
				}
				return
			}
			if got != netip.MustParseAddr(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	if _, err := New(Options{Header: "X-Forwarded-For"}); err == nil {
		t.Error("a header without trusted proxies must be refused")
	}
	if _, err := New(Options{TrustedProxies: []netip.Prefix{{}}}); err == nil {
		t.Error("an invalid prefix must be refused")
	}
	p, _ := ParsePrefixes("10.0.0.0/8")
	if _, err := New(Options{TrustedProxies: p, Header: "Bad Header\r\n"}); err == nil {
		t.Error("an invalid header name must be refused")
	}
	for _, bad := range []string{"10.0.0.0/33", "not-ip", "1.2.3"} {
		if _, err := ParsePrefixes(bad); err == nil {
			t.Errorf("ParsePrefixes(%q) accepted", bad)
		}
	}
}

func TestPrefix(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"203.0.113.9":                    "203.0.113.9/32",
		"2001:db8:1:2:3:4:5:6":           "2001:db8:1:2::/64",
		"::ffff:203.0.113.9":             "203.0.113.9/32",
		"2001:db8:1:2:ffff:ffff:ffff:ff": "2001:db8:1:2::/64",
	}
	for in, want := range tests {
		if got := Prefix(netip.MustParseAddr(in)); got != netip.MustParsePrefix(want) {
			t.Errorf("Prefix(%s) = %v, want %s", in, got, want)
		}
	}
	if Prefix(netip.Addr{}).IsValid() {
		t.Error("Prefix of the zero Addr must be invalid")
	}
}

func TestHandlerStoresAddress(t *testing.T) {
	t.Parallel()
	r := mustResolver(t, "", "10.0.0.0/8")
	var got netip.Addr
	var ok bool
	h := r.Handler(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
		got, ok = From(req.Context())
		if FromRequest(req) != got {
			t.Error("FromRequest disagrees with From")
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), request("10.0.0.1:1", map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}))
	if !ok || got != netip.MustParseAddr("198.51.100.7") {
		t.Fatalf("got %v %v", got, ok)
	}
	// Without the stage, FromRequest believes no header.
	req := request("198.51.100.7:1", map[string][]string{"X-Forwarded-For": {"6.6.6.6"}})
	if a := FromRequest(req); a != netip.MustParseAddr("198.51.100.7") {
		t.Fatalf("FromRequest without stage = %v", a)
	}
}

func TestClientIPAllocatesNothing(t *testing.T) {
	r := mustResolver(t, "", "10.0.0.0/8")
	req := request("10.0.0.1:1", map[string][]string{"X-Forwarded-For": {"6.6.6.6, 198.51.100.7, 10.0.0.2"}})
	if n := testing.AllocsPerRun(100, func() { r.ClientIP(req) }); n != 0 {
		t.Fatalf("ClientIP allocates %v times", n)
	}
	fr := mustResolver(t, Forwarded, "10.0.0.0/8")
	freq := request("10.0.0.1:1", map[string][]string{"Forwarded": {`for=198.51.100.7;proto=https, for="[fd00::1]:80"`}})
	if n := testing.AllocsPerRun(100, func() { fr.ClientIP(freq) }); n != 0 {
		t.Fatalf("ClientIP (Forwarded) allocates %v times", n)
	}
}

func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "1.2.3.4, 10.0.0.1", `for="[::1]:80";by=x`, "for=1.2.3.4, for=_x", "[::1", `"`, ",,,", "for=\"a\\\"b\""} {
		f.Add(s, "10.0.0.1:80")
	}
	xff := mustResolver(f, "", "10.0.0.0/8", "fd00::/8")
	fwd := mustResolver(f, Forwarded, "10.0.0.0/8", "fd00::/8")
	single := mustResolver(f, "X-Real-IP", "10.0.0.0/8")
	f.Fuzz(func(t *testing.T, header, remote string) {
		for _, r := range []*Resolver{xff, fwd, single} {
			req := &http.Request{RemoteAddr: remote, Header: http.Header{
				"X-Forwarded-For": strings.Split(header, "\n"),
				"Forwarded":       strings.Split(header, "\n"),
				"X-Real-Ip":       {header},
			}}
			got := r.ClientIP(req)
			remoteAddr := ParseRemoteAddr(remote)
			if !remoteAddr.IsValid() || !r.Trusted(remoteAddr) {
				if got != remoteAddr {
					t.Fatalf("untrusted peer %q resolved to %v", remote, got)
				}
				continue
			}
			if got.IsValid() && (got.Zone() != "" || got.Is4In6()) {
				t.Fatalf("result %v not normalized", got)
			}
		}
	})
}

func BenchmarkClientIP(b *testing.B) {
	r := mustResolver(b, "", "10.0.0.0/8")
	req := request("10.0.0.1:1", map[string][]string{"X-Forwarded-For": {"6.6.6.6, 198.51.100.7, 10.0.0.2"}})
	direct := request("198.51.100.7:5555", nil)
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.ClientIP(direct)
		}
	})
	b.Run("xff-3-hops", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.ClientIP(req)
		}
	})
}

// FuzzParseRemoteAddr checks the IPv4 fast path against netip's parsers:
// whenever the fast path answers, it answers the same.
func FuzzParseRemoteAddr(f *testing.F) {
	for _, s := range []string{"192.0.2.1:80", "1.2.3.4:0", "255.255.255.255:65535", "01.2.3.4:1", "1.2.3.4:65536",
		"1.2.3.4:", "1.2.3.4", "256.1.1.1:1", "1.2.3.4:0080", "[::1]:80", "1.2.3:4", "1.2.3.4:+1", "1.2.3.4:1a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := parseIPv4Port(s)
		if !ok {
			// The usual form must not fall through to the slow path.
			if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Is4() && ap.String() == s {
				t.Fatalf("%q: the fast path refused a plain IPv4 address and port", s)
			}
			return
		}
		if want := parseRemoteAddrSlow(s); fast != want {
			t.Fatalf("%q: fast path %v, netip %v", s, fast, want)
		}
	})
}

// TestNewRefusesTrustingEveryone: a trusted network that holds every
// address ("trust all proxies") would believe any client's own
// X-Forwarded-For, whose leftmost entry is then the client: the attacker
// picks its address, for rate limits and logs alike. New refuses it.
func TestNewRefusesTrustingEveryone(t *testing.T) {
	t.Parallel()
	for _, list := range [][]string{{"0.0.0.0/0"}, {"::/0"}, {"::ffff:0.0.0.0/96"}, {"10.0.0.0/8", "::/0"}, {"1.2.3.4/0"}} {
		p, err := ParsePrefixes(list...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = New(Options{TrustedProxies: p})
		if err == nil {
			t.Errorf("TrustedProxies %v accepted", list)
			continue
		}
		if !strings.Contains(err.Error(), "every address") {
			t.Errorf("TrustedProxies %v: error %q does not say why", list, err)
		}
	}
	// Broad but bounded networks stay allowed.
	for _, ok := range []string{"0.0.0.0/1", "10.0.0.0/8", "::/1", "fc00::/7"} {
		p, _ := ParsePrefixes(ok)
		if _, err := New(Options{TrustedProxies: p}); err != nil {
			t.Errorf("TrustedProxies %s refused: %v", ok, err)
		}
	}
}
