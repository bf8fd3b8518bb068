package wstools

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/errs"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
	}{
		{name: "wildcard origin", opts: Options{Origins: []string{"*"}}},
		{name: "wildcard subdomain", opts: Options{Origins: []string{"https://*.example.com"}}},
		{name: "origin with path", opts: Options{Origins: []string{"https://example.com/app"}}},
		{name: "origin without scheme", opts: Options{Origins: []string{"example.com"}}},
		{name: "origin with other scheme", opts: Options{Origins: []string{"ftp://example.com"}}},
		{name: "null origin", opts: Options{Origins: []string{"null"}}},
		{name: "origin with credentials", opts: Options{Origins: []string{"https://u:p@example.com"}}},
		{name: "origin with the default port", opts: Options{Origins: []string{"https://example.com:443"}}},
		{name: "origin with a trailing slash", opts: Options{Origins: []string{"https://example.com/"}}},
		{name: "bad subprotocol", opts: Options{Subprotocols: []string{"chat v1"}}},
		{name: "negative message size", opts: Options{MaxMessageBytes: -5}},
		{name: "message size cannot be unlimited", opts: Options{MaxMessageBytes: Unlimited}},
		{name: "negative rate", opts: Options{MessagesPerSecond: -3}},
		{name: "negative burst", opts: Options{Burst: -1}},
		{name: "negative per-IP cap", opts: Options{MaxConnsPerIP: -2}},
		{name: "negative queue", opts: Options{SendQueueBytes: -1}},
		{name: "unknown overflow policy", opts: Options{Overflow: 9}},
		{name: "negative write timeout", opts: Options{WriteTimeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.opts)
			if err == nil {
				t.Fatalf("New accepted %+v", tt.opts)
			}
			if h != nil || !errors.Is(err, errs.KindConfiguration) {
				t.Fatalf("New = %v, %v; want a configuration error", h, err)
			}
		})
	}
	h, err := New(Options{Origins: []string{"HTTPS://App.Example.com", "http://localhost:3000"}, MessagesPerSecond: Unlimited, MaxConnsPerIP: Unlimited, PingInterval: Unlimited})
	if err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
	if h.s.rate != 0 || h.s.maxPerIP != 0 || h.s.pingInterval != 0 || h.s.maxMessage != DefaultMaxMessageBytes {
		t.Fatalf("settings = %+v", h.s)
	}
}

// handshake returns a valid WebSocket handshake request for the test host.
func handshake(mod func(r *http.Request)) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://chat.example.com/ws", nil)
	r.Header.Set("Connection", "keep-alive, Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if mod != nil {
		mod(r)
	}
	return r
}

func TestRefusedBeforeUpgrade(t *testing.T) {
	t.Parallel()
	authFail := func(r *http.Request) (string, error) {
		switch r.Header.Get("Authorization") {
		case "Bearer good":
			return "alice", nil
		case "Bearer banned":
			return "", errs.New(errs.KindAuthorization, "account_banned", "banned")
		}
		return "", errors.New("no token")
	}
	tests := []struct {
		name       string
		opts       Options
		mod        func(r *http.Request)
		wantStatus int
		wantCode   string
		wantHeader [2]string
	}{
		{name: "plain GET", mod: func(r *http.Request) { r.Header.Del("Upgrade"); r.Header.Del("Connection") }, wantStatus: 426, wantCode: "ws_upgrade_required", wantHeader: [2]string{"Upgrade", "websocket"}},
		{name: "Upgrade without Connection token", mod: func(r *http.Request) { r.Header.Set("Connection", "keep-alive") }, wantStatus: 426, wantCode: "ws_upgrade_required"},
		{name: "HTTP/1.0", mod: func(r *http.Request) { r.ProtoMinor = 0 }, wantStatus: 426, wantCode: "ws_upgrade_required"},
		{name: "POST", mod: func(r *http.Request) { r.Method = http.MethodPost }, wantStatus: 405, wantCode: "method_not_allowed", wantHeader: [2]string{"Allow", "GET"}},
		{name: "old version", mod: func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, wantStatus: 400, wantCode: "ws_unsupported_version", wantHeader: [2]string{"Sec-WebSocket-Version", "13"}},
		{name: "missing key", mod: func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") }, wantStatus: 400, wantCode: "ws_bad_handshake"},
		{name: "short key", mod: func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "c2hvcnQ=") }, wantStatus: 400, wantCode: "ws_bad_handshake"},
		{name: "key not base64", mod: func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!==") }, wantStatus: 400, wantCode: "ws_bad_handshake"},
		{name: "two keys", mod: func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") }, wantStatus: 400, wantCode: "ws_bad_handshake"},
		{name: "cross-site origin", mod: func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, wantStatus: 403, wantCode: "ws_origin_refused"},
		{name: "sibling subdomain", mod: func(r *http.Request) { r.Header.Set("Origin", "http://evil.chat.example.com") }, wantStatus: 403, wantCode: "ws_origin_refused"},
		{name: "same host other port", mod: func(r *http.Request) { r.Header.Set("Origin", "http://chat.example.com:8080") }, wantStatus: 403, wantCode: "ws_origin_refused"},
		{name: "null origin", mod: func(r *http.Request) { r.Header.Set("Origin", "null") }, wantStatus: 403, wantCode: "ws_origin_refused"},
		{name: "garbage origin", mod: func(r *http.Request) { r.Header.Set("Origin", "http://%zz") }, wantStatus: 403, wantCode: "ws_origin_refused"},
		{name: "origin not lowercase as browsers send it", mod: func(r *http.Request) { r.Header.Set("Origin", "http://Chat.example.com") }, wantStatus: 403, wantCode: "ws_origin_refused"},
		{name: "origin with its default port written out", mod: func(r *http.Request) { r.Header.Set("Origin", "http://chat.example.com:80") }, wantStatus: 403, wantCode: "ws_origin_refused"},
		{name: "origin with a trailing slash", mod: func(r *http.Request) { r.Header.Set("Origin", "http://chat.example.com/") }, wantStatus: 403, wantCode: "ws_origin_refused"},
		{name: "two origins", mod: func(r *http.Request) {
			r.Header.Add("Origin", "http://chat.example.com")
			r.Header.Add("Origin", "https://evil.example")
		}, wantStatus: 403, wantCode: "ws_origin_refused"},
		{name: "allowlist is exact on scheme", opts: Options{Origins: []string{"https://app.example.com"}}, mod: func(r *http.Request) { r.Header.Set("Origin", "http://app.example.com") }, wantStatus: 403, wantCode: "ws_origin_refused"},
		{name: "allowlist is exact on port", opts: Options{Origins: []string{"https://app.example.com"}}, mod: func(r *http.Request) { r.Header.Set("Origin", "https://app.example.com:8443") }, wantStatus: 403, wantCode: "ws_origin_refused"},
		{name: "allowlist is exact on host", opts: Options{Origins: []string{"https://app.example.com"}}, mod: func(r *http.Request) { r.Header.Set("Origin", "https://app.example.com.evil.example") }, wantStatus: 403, wantCode: "ws_origin_refused"},
		{name: "missing origin when required", opts: Options{RequireOrigin: true}, wantStatus: 403, wantCode: "ws_origin_refused"},
		{name: "no common subprotocol", opts: Options{Subprotocols: []string{"chat.v2"}}, mod: func(r *http.Request) { r.Header.Set("Sec-WebSocket-Protocol", "chat.v1") }, wantStatus: 400, wantCode: "ws_subprotocol_required"},
		{name: "no subprotocol offered", opts: Options{Subprotocols: []string{"chat.v2"}}, wantStatus: 400, wantCode: "ws_subprotocol_required"},
		{name: "authentication fails", opts: Options{Authenticate: authFail}, wantStatus: 401, wantCode: "ws_unauthenticated"},
		{name: "application error kept", opts: Options{Authenticate: authFail}, mod: func(r *http.Request) { r.Header.Set("Authorization", "Bearer banned") }, wantStatus: 403, wantCode: "account_banned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, handshake(tt.mod))
			checkProblem(t, w, tt.wantStatus, tt.wantCode)
			if k := tt.wantHeader[0]; k != "" && w.Header().Get(k) != tt.wantHeader[1] {
				t.Fatalf("%s = %q, want %q", k, w.Header().Get(k), tt.wantHeader[1])
			}
			if h.Stats().Refused != 1 {
				t.Fatalf("Refused = %d", h.Stats().Refused)
			}
		})
	}
}

func checkProblem(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != errs.ContentType {
		t.Fatalf("Content-Type = %q", ct)
	}
	var p struct{ Code string }
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Code != code {
		t.Fatalf("code = %q (%v), want %q; body %s", p.Code, err, code, w.Body)
	}
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		host   string
		tls    bool
		origin string
		want   bool
	}{
		{"http default port", "chat.example.com", false, "http://chat.example.com", true},
		{"behind TLS proxy", "chat.example.com", false, "https://chat.example.com", true},
		{"case-insensitive host", "Chat.Example.com", false, "http://chat.example.com", true},
		{"explicit port matches", "chat.example.com:8080", false, "http://chat.example.com:8080", true},
		{"explicit port differs", "chat.example.com:8080", false, "http://chat.example.com", false},
		{"TLS wants https", "chat.example.com", true, "http://chat.example.com", false},
		{"TLS refuses http on the TLS port", "chat.example.com", true, "http://chat.example.com:443", false},
		{"TLS https", "chat.example.com", true, "https://chat.example.com", true},
		{"TLS https explicit port", "chat.example.com:443", true, "https://chat.example.com", true},
		{"IPv6", "[::1]:8080", false, "http://[::1]:8080", true},
		{"IPv6 other port", "[::1]:8080", false, "http://[::1]:8081", false},
		{"other host", "chat.example.com", false, "http://example.com", false},
		{"suffix attack", "example.com", false, "http://evilexample.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/ws", nil)
			r.Host = tt.host
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			origin, err := webOrigin(tt.origin)
			if err != nil {
				t.Fatalf("webOrigin(%q): %v", tt.origin, err)
			}
			if got := sameOrigin(r, origin); got != tt.want {
				t.Fatalf("sameOrigin(%q, %q) = %v", tt.host, tt.origin, got)
			}
		})
	}
}

func TestAcceptedOverRealSocket(t *testing.T) {
	t.Parallel()
	auth := func(r *http.Request) (string, error) {
		if u := r.URL.Query().Get("user"); u != "" {
			return u, nil
		}
		return "", errors.New("no user")
	}
	var h *Hub
	h, url := serve(t, Options{
		Router:          joinRouter(&h),
		Origins:         []string{"https://app.example.com"},
		Subprotocols:    []string{"chat.v2", "chat.v1"},
		Authenticate:    auth,
		MaxConnsPerUser: 2,
		MaxConnsPerIP:   3,
	})
	hdr := func(origin string) *websocket.DialOptions {
		o := &websocket.DialOptions{HTTPHeader: http.Header{}, Subprotocols: []string{"chat.v1", "chat.v2"}}
		if origin != "" {
			o.HTTPHeader.Set("Origin", origin)
		}
		return o
	}
	// Listed origin, server's preferred subprotocol.
	c := dial(t, url+"?user=alice", hdr("https://app.example.com"))
	if c.Subprotocol() != "chat.v2" {
		t.Fatalf("subprotocol = %q", c.Subprotocol())
	}
	// Same origin (the test server's own).
	dial(t, url+"?user=alice", hdr("http"+strings.TrimPrefix(url, "ws")))
	// Per-user cap.
	dialRefused(t, url+"?user=alice", hdr(""), 429, "ws_too_many_connections")
	// Per-IP cap: a third user from the same address is fine, a fourth is not.
	dial(t, url+"?user=bob", hdr(""))
	dialRefused(t, url+"?user=carol", hdr(""), 429, "ws_too_many_connections")
	// Cross-site origin.
	dialRefused(t, url+"?user=dave", hdr("https://evil.example"), 403, "ws_origin_refused")
	// Closing a connection frees its slots.
	_ = c.Close(websocket.StatusNormalClosure, "")
	eventually(t, "slot released", func() bool { return h.Len() == 2 })
	dial(t, url+"?user=alice", hdr(""))
}

func dialRefused(t *testing.T, url string, opts *websocket.DialOptions, status int, code string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, opts)
	if err == nil {
		_ = c.CloseNow()
		t.Fatalf("dial %s succeeded", url)
	}
	if resp == nil || resp.StatusCode != status {
		t.Fatalf("dial %s: %v, want status %d", url, err, status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != errs.ContentType {
		t.Fatalf("Content-Type = %q", ct)
	}
}

func TestAllowAnyOrigin(t *testing.T) {
	t.Parallel()
	_, url := serve(t, Options{AllowAnyOrigin: true})
	dial(t, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://anything.example"}}})
}

func TestClientIPCapKeysIPv6By64(t *testing.T) {
	t.Parallel()
	addrs := []string{"2001:db8:1:2::1", "2001:db8:1:2::ffff", "2001:db8:1:3::1"}
	i := 0
	h, err := New(Options{MaxConnsPerIP: 1, ClientIP: func(*http.Request) netip.Addr {
		a := netip.MustParseAddr(addrs[i])
		i++
		return a
	}})
	if err != nil {
		t.Fatal(err)
	}
	// reserve is what the handshake calls after the checks.
	for n, want := range []bool{true, false, true} {
		err := h.reserve(clientPrefix(h, nil), "")
		if (err == nil) != want {
			t.Fatalf("connection %d (%s): err = %v", n, addrs[n], err)
		}
	}
}

func clientPrefix(h *Hub, r *http.Request) netip.Prefix {
	return clientip.Prefix(h.s.clientIP(r))
}

// FuzzHandshakeHeaders feeds arbitrary Origin, Host, key and subprotocol
// headers to the checks made before the upgrade: they never panic, and an
// origin is accepted only when it is the allowlisted one or the request's
// own host.
func FuzzHandshakeHeaders(f *testing.F) {
	f.Add("https://app.example.com", "chat.example.com", "dGhlIHNhbXBsZSBub25jZQ==", "chat.v1, chat.v2")
	f.Add("http://chat.example.com:80", "chat.example.com", "x", "")
	f.Add("null", "[::1]:80", "", ",,,")
	f.Add("http://[::1", "[::1", "====", "chat.v2")
	s, err := (&Options{Origins: []string{"https://app.example.com"}, Subprotocols: []string{"chat.v2"}}).settings()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, origin, host, key, protos string) {
		r := handshake(func(r *http.Request) {
			r.Host = host
			r.Header.Set("Origin", origin)
			r.Header.Set("Sec-WebSocket-Key", key)
			r.Header.Set("Sec-WebSocket-Protocol", protos)
		})
		_ = checkHandshake(r)
		if p, ok := s.selectSubprotocol(r); ok && p != "chat.v2" {
			t.Fatalf("selected %q", p)
		}
		if s.checkOrigin(r) != nil {
			return
		}
		o, err := webOrigin(origin)
		if err != nil {
			t.Fatalf("accepted origin %q, which is not one a browser sends: %v", origin, err)
		}
		if origin != "https://app.example.com" && !strings.EqualFold(o.Host, hostOnly(host)) {
			t.Fatalf("accepted origin %q for host %q", origin, host)
		}
	})
}

func hostOnly(h string) string {
	host, _ := splitHostPort(h)
	return host
}
