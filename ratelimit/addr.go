package ratelimit

import (
	"net/http"
	"net/netip"

	"github.com/covetgo/covet/clientip"
)

func (l *Limiter) clientAddr(r *http.Request) netip.Addr {
	if l.resolver != nil {
		return l.resolver.ClientIP(r)
	}
	if a, ok := clientip.From(r.Context()); ok {
		return a
	}
	return clientip.ParseRemoteAddr(r.RemoteAddr)
}
