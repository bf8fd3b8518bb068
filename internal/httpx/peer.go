package httpx

import (
	"net/http"
	"net/netip"
)

// PeerIn reports whether the request's immediate peer (its RemoteAddr,
// with or without a port, IPv4-mapped addresses unmapped and zones
// dropped) lies in one of prefixes. An unparsable RemoteAddr is in none.
func PeerIn(r *http.Request, prefixes []netip.Prefix) bool {
	if len(prefixes) == 0 {
		return false
	}
	var a netip.Addr
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		a = ap.Addr()
	} else if b, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		a = b
	} else {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
