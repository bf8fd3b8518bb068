package wstools

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/netip"
	"strings"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/httpx"
)

// Errors written (as problem+json) for handshakes refused before the upgrade.
// Compare with errors.Is.
var (
	ErrUpgradeRequired     = errs.New(errs.KindBadRequest, "ws_upgrade_required", "This endpoint only speaks WebSocket.").WithStatus(http.StatusUpgradeRequired).WithHeader("Upgrade", "websocket")
	ErrBadHandshake        = errs.New(errs.KindBadRequest, "ws_bad_handshake", "The WebSocket handshake is malformed.")
	ErrUnsupportedVersion  = errs.New(errs.KindBadRequest, "ws_unsupported_version", "Only WebSocket version 13 is supported.").WithHeader("Sec-WebSocket-Version", "13")
	ErrMethodNotAllowed    = errs.New(errs.KindMethodNotAllowed, "method_not_allowed", "A WebSocket handshake uses GET.").WithHeader("Allow", "GET")
	ErrOriginRefused       = errs.New(errs.KindSecurity, "ws_origin_refused", "This origin may not open a WebSocket here.").WithStatus(http.StatusForbidden)
	ErrSubprotocolRequired = errs.New(errs.KindBadRequest, "ws_subprotocol_required", "Offer one of the subprotocols this endpoint speaks.")
	ErrUnauthenticated     = errs.New(errs.KindAuthentication, "ws_unauthenticated", "Authentication is required to open this WebSocket.")
	ErrTooManyConnections  = errs.New(errs.KindRateLimit, "ws_too_many_connections", "Too many open WebSocket connections.")
	ErrShuttingDown        = errs.New(errs.KindServiceUnavailable, "ws_shutting_down", "The server is shutting down.")
)

// checkHandshake validates what coder/websocket's Accept would otherwise
// refuse with a plain-text body, so every refusal is problem+json.
func checkHandshake(r *http.Request) *errs.Error {
	if !headerHasToken(r.Header, "Connection", "upgrade") || !headerHasToken(r.Header, "Upgrade", "websocket") || !r.ProtoAtLeast(1, 1) {
		return ErrUpgradeRequired
	}
	if r.Method != http.MethodGet {
		return ErrMethodNotAllowed
	}
	if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || v[0] != "13" {
		return ErrUnsupportedVersion
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return ErrBadHandshake
	}
	key := strings.TrimSpace(keys[0])
	if len(key) != 24 {
		return ErrBadHandshake
	}
	var raw [18]byte
	if n, err := base64.StdEncoding.Decode(raw[:], []byte(key)); err != nil || n != 16 {
		return ErrBadHandshake
	}
	return nil
}

// headerHasToken reports whether a comma-separated header contains token
// (ASCII case-insensitive).
func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h[http.CanonicalHeaderKey(key)] {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// checkOrigin applies the origin policy: an exact allowlist plus the
// endpoint's own origin.
func (s *settings) checkOrigin(r *http.Request) *errs.Error {
	values := r.Header.Values("Origin")
	if len(values) == 0 {
		if s.requireOrigin {
			return ErrOriginRefused
		}
		return nil
	}
	if len(values) > 1 {
		return ErrOriginRefused
	}
	if s.anyOrigin {
		return nil
	}
	origin, err := webOrigin(values[0])
	if err != nil {
		return ErrOriginRefused
	}
	if _, ok := s.origins[values[0]]; ok {
		return nil
	}
	if sameOrigin(r, origin) {
		return nil
	}
	return ErrOriginRefused
}

// sameOrigin reports whether the origin is the endpoint's own.
// Over TLS the origin must be https with the request's host and port. Over
// plain HTTP the server may sit behind a TLS-terminating proxy, so either
// scheme is accepted with the request's host, and with its port when the
// Host header names one (else the scheme's default port).
func sameOrigin(r *http.Request, origin httpx.Origin) bool {
	scheme, ohost, oport := origin.Scheme, origin.Host, origin.EffectivePort()
	rhost, rport := splitHostPort(r.Host)
	if rhost == "" || !strings.EqualFold(ohost, rhost) {
		return false
	}
	if r.TLS != nil {
		if rport == "" {
			rport = "443"
		}
		return scheme == "https" && oport == rport
	}
	if rport != "" {
		return oport == rport
	}
	return (scheme == "http" && oport == "80") || (scheme == "https" && oport == "443")
}

// splitHostPort splits a Host header into host (IPv6 kept in brackets) and
// port ("" when absent).
func splitHostPort(h string) (host, port string) {
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", ""
		}
		host, rest := h[:end+1], h[end+1:]
		if strings.HasPrefix(rest, ":") {
			return host, rest[1:]
		}
		if rest != "" {
			return "", ""
		}
		return host, ""
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		return h[:i], h[i+1:]
	}
	return h, ""
}

// selectSubprotocol returns the first of the server's subprotocols the client
// offered, and whether the handshake may proceed.
func (s *settings) selectSubprotocol(r *http.Request) (string, bool) {
	if len(s.subprotocols) == 0 {
		return "", true
	}
	for _, want := range s.subprotocols {
		for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
			for v != "" {
				var t string
				t, v, _ = strings.Cut(v, ",")
				if strings.TrimSpace(t) == want {
					return want, true
				}
			}
		}
	}
	return "", false
}

// authenticate runs the application's check and maps its error.
func (s *settings) authenticateRequest(r *http.Request) (string, error) {
	if s.authenticate == nil {
		return "", nil
	}
	user, err := s.authenticate(r)
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return "", err
		}
		return "", ErrUnauthenticated.WithCause(err)
	}
	return user, nil
}

func defaultClientIP(r *http.Request) netip.Addr { return clientip.FromRequest(r) }
