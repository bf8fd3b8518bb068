// Package outbound builds the HTTP clients the project's stages use to
// call other servers (identity providers, key sets, introspection
// endpoints), so every one of them follows the same redirect rules.
package outbound

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
)

// MaxRedirects is how many redirects a client follows at most.
const MaxRedirects = 3

// ErrRedirect is returned (wrapped in a *url.Error) for a redirect the
// client refuses.
var ErrRedirect = errors.New("outbound: redirect refused")

// Client returns a copy of base (nil: a new client) whose redirects must
// stay on https and on hosts (host names, compared case-insensitively,
// ports ignored); with no hosts, on the host of the first request. A
// redirect to http, to another host or past MaxRedirects is refused, so
// credentials a request carries (Basic client authentication, a token in
// the body) never leave TLS or the host they were meant for. When the
// copy has no timeout, timeout is set.
func Client(base *http.Client, timeout time.Duration, hosts ...string) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	}
	if c.Timeout == 0 {
		c.Timeout = timeout
	}
	allowed := make([]string, len(hosts))
	for i, h := range hosts {
		allowed[i] = strings.ToLower(h)
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= MaxRedirects || req.URL.Scheme != "https" {
			return ErrRedirect
		}
		host := strings.ToLower(req.URL.Hostname())
		if len(allowed) == 0 {
			if len(via) == 0 || !strings.EqualFold(via[0].URL.Hostname(), host) || via[0].URL.Scheme != "https" {
				return ErrRedirect
			}
			return nil
		}
		if !slices.Contains(allowed, host) {
			return ErrRedirect
		}
		return nil
	}
	return &c
}
