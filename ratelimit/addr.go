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
	if a, ok := parseIPv4Port(r.RemoteAddr); ok {
		return a
	}
	return clientip.ParseRemoteAddr(r.RemoteAddr)
}

// parseIPv4Port is a fast path for the usual RemoteAddr, "a.b.c.d:port".
// It accepts exactly what netip.ParseAddrPort accepts for that form (no
// leading zeros, octets up to 255, a decimal port up to 65535) and reports
// false for anything else, which then takes the general path.
func parseIPv4Port(s string) (netip.Addr, bool) {
	var ip [4]byte
	i := 0
	for k := 0; k < 4; k++ {
		if k > 0 {
			if i >= len(s) || s[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		start, v := i, 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			v = v*10 + int(s[i]-'0')
			i++
			if i-start > 3 {
				return netip.Addr{}, false
			}
		}
		if i == start || v > 255 || i-start > 1 && s[start] == '0' {
			return netip.Addr{}, false
		}
		ip[k] = byte(v)
	}
	if i >= len(s) || s[i] != ':' {
		return netip.Addr{}, false
	}
	i++
	start, port := i, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		port = port*10 + int(s[i]-'0')
		i++
		if port > 65535 {
			return netip.Addr{}, false
		}
	}
	if i == start || i != len(s) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}
