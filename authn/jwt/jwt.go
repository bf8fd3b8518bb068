package jwt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/internal/tokencache"
	"github.com/covetgo/covet/errs"
	gojwt "github.com/golang-jwt/jwt/v5"
)

// MaxTokenSize is the longest token a Verifier parses: longer tokens are
// refused before any decoding.
const MaxTokenSize = 8 << 10

// maxLeeway bounds VerifierOptions.Leeway.
const maxLeeway = 5 * time.Minute

// RevocationList tells whether a verified token has been revoked (by its
// "jti", subject or issue time). It is asked on every request, cached tokens
// included; an error fails the request with ErrUnavailable.
type RevocationList interface {
	Revoked(ctx context.Context, c *authn.Claims) (bool, error)
}

// VerifierOptions configure a Verifier. Keys, Algorithms, Issuer and
// Audience are required: there is no "accept anything" default.
type VerifierOptions struct {
	// Keys finds the verification key named by a token's kid: a
	// StaticKeys, a JWKS or an Issuer's key set.
	Keys KeySet
	// Algorithms the verifier accepts, for example {"EdDSA", "ES256"}.
	// "none" is refused. A token must also match its key's own algorithm.
	Algorithms []string
	// Issuer is the required "iss" claim.
	Issuer string
	// Audience lists the acceptable "aud" values; a token must carry at
	// least one of them.
	Audience []string
	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	// Zero: none. At most 5 minutes.
	Leeway time.Duration
	// Type, when set, is the required "typ" header, for example "at+jwt"
	// (RFC 9068); "application/" prefixes and case are ignored.
	Type string
	// CacheSize, when positive, enables the verified-token cache with room
	// for this many tokens: a token seen before skips signature checks
	// until the earlier of its exp and CacheTTL.
	CacheSize int
	// CacheTTL bounds how long a token stays cached. Zero: 5 minutes.
	CacheTTL time.Duration
	// Revocation, when set, is asked on every request (cache hits too).
	Revocation RevocationList
	// Principal maps verified claims to a principal. Nil: subject from
	// "sub", roles from "roles", scopes from "scope" and "scp".
	Principal func(c *authn.Claims) (*authn.Principal, error)
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// Verifier verifies JWTs. It is safe for concurrent use.
type Verifier struct {
	keys      KeySet
	algs      []string
	validator *gojwt.Validator
	typ       string
	cache     *tokencache.Cache
	revoked   RevocationList
	principal func(*authn.Claims) (*authn.Principal, error)
	now       func() time.Time
}

// NewVerifier validates opts and returns a Verifier.
func NewVerifier(opts VerifierOptions) (*Verifier, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	v := &Verifier{
		keys:      opts.Keys,
		algs:      slices.Clone(opts.Algorithms),
		typ:       normalizeTyp(opts.Type),
		revoked:   opts.Revocation,
		principal: opts.Principal,
		now:       now,
	}
	v.validator = gojwt.NewValidator(
		gojwt.WithIssuer(opts.Issuer),
		gojwt.WithAudience(opts.Audience...),
		gojwt.WithExpirationRequired(),
		gojwt.WithIssuedAt(),
		gojwt.WithLeeway(opts.Leeway),
		gojwt.WithTimeFunc(now),
	)
	if opts.CacheSize > 0 {
		ttl := opts.CacheTTL
		if ttl == 0 {
			ttl = 5 * time.Minute
		}
		v.cache = tokencache.New(opts.CacheSize, ttl)
	}
	return v, nil
}

// validate refuses missing or insecure options.
func (opts *VerifierOptions) validate() error {
	if opts.Keys == nil {
		return errs.Configf("authn: VerifierOptions.Keys is required")
	}
	if err := checkAlgorithms(opts.Algorithms, opts.Keys); err != nil {
		return err
	}
	if opts.Issuer == "" {
		return errs.Configf("authn: VerifierOptions.Issuer is required")
	}
	if len(opts.Audience) == 0 || slices.Contains(opts.Audience, "") {
		return errs.Configf("authn: VerifierOptions.Audience is required and may not contain \"\"")
	}
	if opts.Leeway < 0 || opts.Leeway > maxLeeway {
		return errs.Configf("authn: VerifierOptions.Leeway %s is outside 0..%s", opts.Leeway, maxLeeway)
	}
	if opts.CacheSize < 0 {
		return errs.Configf("authn: VerifierOptions.CacheSize is negative")
	}
	if opts.CacheTTL < 0 {
		return errs.Configf("authn: VerifierOptions.CacheTTL is negative")
	}
	return nil
}

// checkAlgorithms refuses an empty list, "none", an algorithm golang-jwt
// cannot verify, and a static key whose algorithm is not listed.
func checkAlgorithms(algs []string, keys KeySet) error {
	if len(algs) == 0 {
		return errs.Configf("authn: VerifierOptions.Algorithms is required")
	}
	for _, a := range algs {
		if strings.EqualFold(a, "none") {
			return errs.Configf("authn: algorithm \"none\" is never accepted")
		}
		if err := checkKey(Key{Algorithm: a}); err != nil && !strings.Contains(err.Error(), "needs") {
			return errs.Configf("authn: VerifierOptions.Algorithms: unsupported algorithm %q", a)
		}
	}
	if sk, ok := keys.(*StaticKeys); ok {
		for _, a := range sk.algorithms() {
			if !slices.Contains(algs, a) {
				return errs.Configf("authn: key algorithm %q is not in VerifierOptions.Algorithms", a)
			}
		}
	}
	return nil
}

func normalizeTyp(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	return strings.TrimPrefix(t, "application/")
}

// verifiedToken holds a token's claims and its default principal in one
// allocation.
type verifiedToken struct {
	claims    authn.Claims
	principal authn.Principal
	dates     [3]gojwt.NumericDate // exp, nbf and iat of claims
}

// defaultPrincipal fills p from c: subject, roles, both scope claims, exp.
func defaultPrincipal(p *authn.Principal, c *authn.Claims) {
	*p = authn.Principal{
		Subject: c.Subject,
		Method:  authn.MethodJWT,
		Roles:   c.Roles,
		Scopes:  c.AllScopes(),
		Claims:  c,
	}
	if c.ExpiresAt != nil {
		p.ExpiresAt = c.ExpiresAt.Time
	}
}

// Verify checks token and returns its principal. Every refusal is
// ErrInvalidToken (Reason tells why: "too_long", "malformed", "bad_signature",
// "alg_mismatch", "unknown_kid", "missing_kid", "expired", "not_yet_valid",
// "bad_issuer", "bad_audience", "missing_claim", "bad_typ", "crit_header",
// "duplicate_claim", "missing_sub", "revoked"); a revocation list or key
// source failure is ErrUnavailable.
func (v *Verifier) Verify(ctx context.Context, token string) (*authn.Principal, error) {
	return v.verify(ctx, token, v.cache != nil)
}

// Cached answers from the verified-token cache alone (authn.CachedVerifier):
// hit reports whether token was there and unexpired, and then p or err
// (a revocation, or the revocation list failing) is the answer. Without a
// cache it never hits.
func (v *Verifier) Cached(ctx context.Context, token string) (p *authn.Principal, hit bool, err error) {
	if v.cache == nil || len(token) > MaxTokenSize {
		return nil, false, nil
	}
	return v.cached(ctx, token)
}

// cached answers from the verified-token cache: hit reports whether token
// was there (then p or err is the answer).
func (v *Verifier) cached(ctx context.Context, token string) (p *authn.Principal, hit bool, err error) {
	p, claims, ok := v.cache.Get(token, v.now())
	if !ok {
		return nil, false, nil
	}
	if err := v.checkRevoked(ctx, claims); err != nil {
		return nil, true, err
	}
	return p, true, nil
}

// verify is Verify; useCache false skips the cache lookup (the caller
// has just missed it) but still fills the cache.
func (v *Verifier) verify(ctx context.Context, token string, useCache bool) (*authn.Principal, error) {
	if len(token) > MaxTokenSize {
		return nil, authn.WithReason(authn.ErrInvalidToken, "too_long", nil)
	}
	if !splitCanonical(token) {
		return nil, authn.WithReason(authn.ErrInvalidToken, "malformed", nil)
	}
	if useCache {
		if p, hit, err := v.cached(ctx, token); hit {
			return p, err
		}
	}
	vt := new(verifiedToken)
	claims := &vt.claims
	if err := v.verifyCold(ctx, token, claims, &vt.dates); err != nil {
		return nil, err
	}
	claims.SetToken(token)
	if claims.Subject == "" {
		return nil, authn.WithReason(authn.ErrInvalidToken, "missing_sub", nil)
	}
	if err := v.checkRevoked(ctx, claims); err != nil {
		return nil, err
	}
	p := &vt.principal
	if v.principal != nil {
		var err error
		if p, err = v.principal(claims); err != nil {
			return nil, authn.WithReason(authn.ErrInvalidToken, "principal", err)
		}
	} else {
		defaultPrincipal(p, claims)
	}
	if p == nil || p.Subject == "" {
		return nil, authn.WithReason(authn.ErrInvalidToken, "missing_sub", nil)
	}
	if v.cache != nil && claims.ExpiresAt != nil {
		v.cache.Put(token, p, claims, claims.ExpiresAt.Time, v.now())
	}
	return p, nil
}

func (v *Verifier) checkRevoked(ctx context.Context, c *authn.Claims) error {
	if v.revoked == nil || c == nil {
		return nil
	}
	revoked, err := v.revoked.Revoked(ctx, c)
	if err != nil {
		return authn.ErrUnavailable.WithCause(err)
	}
	if revoked {
		return authn.WithReason(authn.ErrInvalidToken, "revoked", nil)
	}
	return nil
}

// jwsHeader is what the verifier reads of a JWS header. jku, x5u, jwk and
// every other member are ignored; crit is refused whatever it lists.
type jwsHeader struct {
	// alg is the span of the raw alg value in the header bytes (not a
	// slice of them, so that the header's buffer stays on the stack).
	alg    [2]int
	kid    string
	typ    string
	badKid bool
	crit   bool
}

// parseHeader reads a JWS header; typ only when wantTyp.
func parseHeader(b []byte, wantTyp bool) (h jwsHeader, err error) {
	m, err := newMembers(b)
	if err != nil {
		return h, err
	}
	for {
		name, val, ok, err := m.next()
		if err != nil || !ok {
			return h, err
		}
		switch string(name) {
		case "alg":
			h.alg = m.valSpan()
		case "kid":
			if h.kid, err = stringValue(val); err != nil || h.kid == "" || val[0] != '"' {
				h.badKid = true
			}
		case "typ":
			if wantTyp {
				h.typ, _ = stringValue(val) // not a string: no typ
			}
		case "crit":
			h.crit = true
		}
	}
}

// verifyCold checks token's header, signature and claims, filling c. The
// compact serialization is parsed here, strictly and without reflection;
// golang-jwt's signing methods check the signature and its validator the
// registered claims.
func (v *Verifier) verifyCold(ctx context.Context, token string, c *authn.Claims, dates *[3]gojwt.NumericDate) error {
	i := strings.IndexByte(token, '.')
	j := i + 1 + strings.IndexByte(token[i+1:], '.')
	// The header and payload are decoded into a stack buffer; the
	// signature goes to the signing method, an interface, so it gets its
	// own small allocation rather than taking the buffer with it.
	var buf [2048]byte
	rest := buf[:]
	header, ok := decodeSegment(&rest, token[:i])
	if !ok {
		return authn.WithReason(authn.ErrInvalidToken, "malformed", nil)
	}
	h, err := parseHeader(header, v.typ != "")
	if err != nil {
		return authn.WithReason(authn.ErrInvalidToken, "malformed", err)
	}
	payload, ok := decodeSegment(&rest, token[i+1:j])
	if !ok {
		return authn.WithReason(authn.ErrInvalidToken, "malformed", nil)
	}
	if err := parseClaims(payload, c, dates); err != nil {
		return claimsError(err)
	}
	sig, ok := decodeB64URL(make([]byte, len(token[j+1:])*3/4+3), token[j+1:])
	if !ok {
		return authn.WithReason(authn.ErrInvalidToken, "malformed", nil)
	}
	alg, method, err := v.signingMethod(header[h.alg[0]:h.alg[1]])
	if err != nil {
		return err
	}
	if err := v.checkHeader(&h); err != nil {
		return err
	}
	if err := v.checkSignature(ctx, token[:j], sig, h.kid, alg, method); err != nil {
		return err
	}
	if err := v.validator.Validate(c); err != nil {
		return v.mapError(err)
	}
	return nil
}

// claimsError is the refusal of a payload parseClaims could not read.
func claimsError(err error) error {
	if errors.Is(err, errDuplicateClaim) {
		return authn.WithReason(authn.ErrInvalidToken, "duplicate_claim", err)
	}
	return authn.WithReason(authn.ErrInvalidToken, "malformed", err)
}

// signingMethod returns the accepted algorithm the raw header value alg
// names and golang-jwt's method for it.
func (v *Verifier) signingMethod(rawAlg []byte) (string, gojwt.SigningMethod, error) {
	alg := v.acceptedAlg(rawAlg)
	if alg == "" {
		return "", nil, refusedAlg(rawAlg)
	}
	method := gojwt.GetSigningMethod(alg)
	if method == nil {
		return "", nil, authn.WithReason(authn.ErrInvalidToken, "unverifiable", nil)
	}
	return alg, method, nil
}

// acceptedAlg returns the algorithm of v.algs that the raw header value
// names (a plain JSON string), or "".
func (v *Verifier) acceptedAlg(rawAlg []byte) string {
	if len(rawAlg) < 2 || rawAlg[0] != '"' {
		return ""
	}
	for _, a := range v.algs {
		if string(rawAlg[1:len(rawAlg)-1]) == a {
			return a
		}
	}
	return ""
}

// refusedAlg is the refusal of an algorithm the verifier does not accept,
// under golang-jwt's names for the two cases: one it does not know is
// unverifiable, one it knows but the verifier does not accept fails like
// a bad signature.
func refusedAlg(rawAlg []byte) error {
	name, err := stringValue(rawAlg)
	if err != nil || len(rawAlg) == 0 || gojwt.GetSigningMethod(name) == nil {
		return authn.WithReason(authn.ErrInvalidToken, "unverifiable", nil)
	}
	return authn.WithReason(authn.ErrInvalidToken, "bad_signature", nil)
}

// checkHeader refuses a header with a critical extension, the wrong typ
// or a kid that is not a non-empty string.
func (v *Verifier) checkHeader(h *jwsHeader) error {
	if h.crit {
		// No extension is understood, so a critical one must be refused
		// (RFC 7515 section 4.1.11).
		return authn.WithReason(authn.ErrInvalidToken, "crit_header", nil)
	}
	if v.typ != "" && normalizeTyp(h.typ) != v.typ {
		return authn.WithReason(authn.ErrInvalidToken, "bad_typ", nil)
	}
	if h.badKid {
		return authn.WithReason(authn.ErrInvalidToken, "malformed", nil)
	}
	return nil
}

// checkSignature finds the key named kid and checks that it is for alg
// and that sig signs signed (the header and payload segments).
func (v *Verifier) checkSignature(ctx context.Context, signed string, sig []byte, kid, alg string, method gojwt.SigningMethod) error {
	key, err := v.keys.VerificationKey(ctx, kid)
	if err != nil {
		return v.mapError(fmt.Errorf("%w: %w", gojwt.ErrTokenUnverifiable, err))
	}
	if key.Algorithm != alg {
		return authn.WithReason(authn.ErrInvalidToken, "alg_mismatch", nil)
	}
	if err := method.Verify(signed, sig, key.Key); err != nil {
		return authn.WithReason(authn.ErrInvalidToken, "bad_signature", err)
	}
	return nil
}

// decodeSegment decodes the base64url segment seg into the front of *buf
// and moves *buf past it; a segment too big for *buf gets its own slice.
func decodeSegment(buf *[]byte, seg string) ([]byte, bool) {
	n := len(seg)*3/4 + 3
	if n > len(*buf) {
		return decodeB64URL(make([]byte, n), seg)
	}
	out, ok := decodeB64URL(*buf, seg)
	*buf = (*buf)[len(out):]
	return out, ok
}

// claimReasons name the refusals of golang-jwt's claims validator (and
// of a key source, wrapped in ErrTokenUnverifiable), most specific first.
var claimReasons = []struct {
	err    error
	reason string
}{
	{gojwt.ErrTokenExpired, "expired"},
	{gojwt.ErrTokenNotValidYet, "not_yet_valid"},
	{gojwt.ErrTokenUsedBeforeIssued, "issued_in_future"},
	{gojwt.ErrTokenInvalidIssuer, "bad_issuer"},
	{gojwt.ErrTokenInvalidAudience, "bad_audience"},
	{gojwt.ErrTokenRequiredClaimMissing, "missing_claim"},
	{gojwt.ErrTokenUnverifiable, "unverifiable"},
	{gojwt.ErrTokenInvalidClaims, "bad_claims"},
}

// mapError turns a validator or key-source error into the public error
// with its reason. (Malformed tokens, duplicate claims and bad signatures
// are refused by verifyCold itself.)
func (v *Verifier) mapError(err error) error {
	var re *authn.ReasonError
	if errors.As(err, &re) {
		if re.Reason == "unavailable" {
			return authn.ErrUnavailable.WithCause(err)
		}
		return authn.WithReason(authn.ErrInvalidToken, re.Reason, err)
	}
	reason := "invalid"
	for _, m := range claimReasons {
		if errors.Is(err, m.err) {
			reason = m.reason
			break
		}
	}
	return authn.WithReason(authn.ErrInvalidToken, reason, err)
}
