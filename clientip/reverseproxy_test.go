package clientip

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// proxiedClient starts backend behind a real httputil.ReverseProxy and
// returns an HTTP client that reaches the proxy from 127.0.0.2, so the
// proxy (127.0.0.1) and the client have different addresses.
func proxiedClient(t *testing.T, backend http.Handler) (*http.Client, string) {
	t.Helper()
	be := httptest.NewServer(backend)
	t.Cleanup(be.Close)
	u, err := url.Parse(be.URL)
	if err != nil {
		t.Fatal(err)
	}
	px := httptest.NewServer(httputil.NewSingleHostReverseProxy(u))
	t.Cleanup(px.Close)
	probe, err := net.DialTCP("tcp", &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, px.Listener.Addr().(*net.TCPAddr))
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2 on this machine: %v", err)
	}
	_ = probe.Close()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}, px.URL
}

// TestReverseProxyEmptyXFF sends requests through Go's own reverse proxy,
// which turns an empty X-Forwarded-For from the client into
// ", <client>": the client must be found, not the proxy.
func TestReverseProxyEmptyXFF(t *testing.T) {
	t.Parallel()
	r := mustResolver(t, "", "127.0.0.1/32")
	backend := r.Handler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a, _ := From(req.Context())
		_, _ = io.WriteString(w, a.String()+"|"+strings.Join(req.Header.Values("X-Forwarded-For"), ";"))
	}))
	client, proxyURL := proxiedClient(t, backend)
	tests := []struct {
		name string
		xff  []string // nil: no header
	}{
		{"no header", nil},
		{"empty header", []string{""}},
		{"whitespace header", []string{"  "}},
		{"two empty lines", []string{"", ""}},
		{"spoofed internal address", []string{"127.0.0.1"}},
		{"spoof after empty element", []string{", 127.0.0.1"}},
		{"garbage", []string{"garbage, "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, proxyURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.xff != nil {
				req.Header["X-Forwarded-For"] = tt.xff
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			got, seen, _ := strings.Cut(string(body), "|")
			if got != "127.0.0.2" {
				t.Fatalf("resolved %q from X-Forwarded-For %q, want the client 127.0.0.2", got, seen)
			}
			if a := netip.MustParseAddr(got); r.Trusted(a) {
				t.Fatalf("resolved a trusted hop %v", a)
			}
		})
	}
}
