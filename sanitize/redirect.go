package sanitize

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/redirect"
)

// ErrUnsafeRedirect is returned for a redirect target outside the allowlist.
var ErrUnsafeRedirect = errs.New(errs.KindSecurity, "unsafe_redirect", "The redirect target is not allowed.")

// maxRedirectBytes caps a redirect target.
const maxRedirectBytes = 2048

// RedirectOptions configures a Redirects allowlist. The zero value allows
// local paths only.
type RedirectOptions struct {
	// AllowedHosts lists the hosts (with a port when it is not the
	// default) that absolute https targets may name, such as
	// "accounts.example.com". Matching is exact and case-insensitive; there
	// are no wildcards.
	AllowedHosts []string
	// AllowHTTP accepts http: targets to the allowed hosts as well.
	AllowHTTP bool
}

// Redirects checks user-supplied redirect targets ("?next=/inbox") so they
// cannot send the user to another site. Local targets must be absolute paths
// ("/inbox?x=1"); scheme-relative ("//evil.com"), backslash ("/\evil.com"),
// scheme-only ("https:evil.com"), javascript:, data: and any other scheme,
// userinfo ("https://good.com@evil.com"), control characters, whitespace
// (browsers strip tabs and newlines, "/\t/evil.com") and invalid UTF-8 are
// refused. Local paths go through the same check as authn's OIDC return
// path, which also refuses what http.Redirect's path cleaning or a decoding
// proxy would turn into another host ("/./\evil.com", "/%2f/evil.com").
type Redirects struct {
	hosts     map[string]struct{}
	allowHTTP bool
}

// NewRedirects validates o.
func NewRedirects(o RedirectOptions) (*Redirects, error) {
	r := &Redirects{hosts: map[string]struct{}{}, allowHTTP: o.AllowHTTP}
	for _, h := range o.AllowedHosts {
		u, err := url.Parse("https://" + h)
		if err != nil || h == "" || u.Host != h || u.User != nil || strings.ContainsAny(h, "*/\\@") {
			return nil, errs.Configf("sanitize: redirect host %q is not a host[:port]", h)
		}
		r.hosts[strings.ToLower(h)] = struct{}{}
	}
	return r, nil
}

// Check returns target unchanged when it is safe to redirect to, or
// ErrUnsafeRedirect.
func (rd *Redirects) Check(target string) (string, error) {
	if target == "" || len(target) > maxRedirectBytes || !redirect.SafeChars(target) {
		return "", ErrUnsafeRedirect
	}
	if target[0] == '/' {
		// The one local-path check the whole project uses: it also
		// covers what a decoding proxy or http.Redirect's path cleaning
		// would make of the target ("/./\evil" becomes "/\evil").
		if !redirect.LocalPath(target) {
			return "", ErrUnsafeRedirect
		}
		return target, nil
	}
	u, err := url.Parse(target)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", ErrUnsafeRedirect
	}
	if !(u.Scheme == "https" || u.Scheme == "http" && rd.allowHTTP) {
		return "", ErrUnsafeRedirect
	}
	// The scheme must be spelled in lowercase and followed by "//", so the
	// check and the browser read the same URL.
	if !strings.HasPrefix(target, u.Scheme+"://") {
		return "", ErrUnsafeRedirect
	}
	if _, ok := rd.hosts[strings.ToLower(u.Host)]; !ok {
		return "", ErrUnsafeRedirect
	}
	return target, nil
}

// Redirect sends the user to target when Check accepts it, else to
// fallback (which must itself be safe, such as "/"). code is a 3xx status.
func (rd *Redirects) Redirect(w http.ResponseWriter, r *http.Request, target, fallback string, code int) {
	if t, err := rd.Check(target); err == nil {
		http.Redirect(w, r, t, code)
		return
	}
	http.Redirect(w, r, fallback, code)
}
