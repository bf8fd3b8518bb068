package ratelimit

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"testing"

	"github.com/covetgo/covet/clientip"
)

// TestExemptIPsNotReachableThroughProxy puts the limiter behind a real
// httputil.ReverseProxy whose address is both the trusted proxy and an
// exempt internal network. A client outside it must be limited however it
// shapes X-Forwarded-For: an empty header (which the proxy turns into
// ", <client>"), a spoofed internal address, or garbage.
func TestExemptIPsNotReachableThroughProxy(t *testing.T) {
	t.Parallel()
	internal := netip.MustParsePrefix("127.0.0.1/32")
	res, err := clientip.New(clientip.Options{TrustedProxies: []netip.Prefix{internal}})
	if err != nil {
		t.Fatal(err)
	}
	for _, shape := range []struct {
		name string
		xff  []string
	}{
		{"empty header", []string{""}},
		{"whitespace header", []string{" "}},
		{"empty lines", []string{"", ""}},
		{"internal address after empty element", []string{", 127.0.0.1"}},
		{"garbage", []string{"not-an-address"}},
		{"garbage after internal", []string{"127.0.0.1, x"}},
	} {
		t.Run(shape.name, func(t *testing.T) {
			l := newLimiter(t, Options{
				Policies:  []Policy{PerHour("h", 1)},
				ExemptIPs: []netip.Prefix{internal},
			})
			be := httptest.NewServer(res.Handler(l.Handler(okHandler)))
			t.Cleanup(be.Close)
			u, _ := url.Parse(be.URL)
			px := httptest.NewServer(httputil.NewSingleHostReverseProxy(u))
			t.Cleanup(px.Close)
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
			tr := &http.Transport{DialContext: func(ctx context.Context, n, a string) (net.Conn, error) {
				return d.DialContext(ctx, n, a)
			}}
			t.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: tr}
			codes := make([]int, 3)
			for i := range codes {
				req, _ := http.NewRequest(http.MethodGet, px.URL, nil)
				req.Header["X-Forwarded-For"] = shape.xff
				resp, err := client.Do(req)
				if err != nil {
					t.Skipf("cannot reach the proxy from 127.0.0.2: %v", err)
				}
				_ = resp.Body.Close()
				codes[i] = resp.StatusCode
			}
			if codes[0] != http.StatusOK || codes[1] != http.StatusTooManyRequests || codes[2] != http.StatusTooManyRequests {
				t.Fatalf("statuses %v, want [200 429 429]: the client reached the proxy's exemption", codes)
			}
		})
	}
}

// TestExemptIPsMalformedHeader: a malformed header from a trusted peer
// leaves the client unknown; it must not pass as the exempt peer itself.
func TestExemptIPsMalformedHeader(t *testing.T) {
	t.Parallel()
	internal := netip.MustParsePrefix("10.0.0.0/8")
	res, err := clientip.New(clientip.Options{TrustedProxies: []netip.Prefix{internal}})
	if err != nil {
		t.Fatal(err)
	}
	for _, xff := range []string{"garbage", "fe80::1%eth0", "localhost, 10.0.0.2"} {
		l := newLimiter(t, Options{Policies: []Policy{PerHour("h", 1)}, ExemptIPs: []netip.Prefix{internal}})
		h := res.Handler(l.Handler(okHandler))
		var codes []int
		for range 2 {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = "10.0.0.1:443"
			req.Header.Set("X-Forwarded-For", xff)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			codes = append(codes, rec.Code)
		}
		if codes[1] != http.StatusTooManyRequests {
			t.Errorf("X-Forwarded-For %q: statuses %v; a malformed header reached the exemption", xff, codes)
		}
	}
}
