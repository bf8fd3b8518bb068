package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidGrant: a refresh token is unknown, expired, reused or revoked
// (400, code "invalid_grant", as RFC 6749 section 5.2 answers).
var ErrInvalidGrant = errs.New(errs.KindBadRequest, "invalid_grant", "The refresh token is invalid, expired or revoked.")

// IssuerOptions configure an Issuer.
type IssuerOptions struct {
	// Issuer is the "iss" of issued tokens; required.
	Issuer string
	// Audience is the "aud" of issued tokens; required.
	Audience []string
	// Algorithm signs access tokens: "EdDSA" (the default) or "ES256".
	Algorithm string
	// AccessTTL is the access token lifetime. Zero: 15 minutes. At most
	// 24 hours.
	AccessTTL time.Duration
	// RotateEvery is how often the signing key changes. Zero: 24 hours.
	// The next key is published in the JWKS one period before it signs,
	// and a retired key stays published for AccessTTL after it stops.
	RotateEvery time.Duration
	// Refresh stores refresh tokens; nil disables them (IssuePair and
	// Refresh then fail).
	Refresh RefreshStore
	// RefreshTTL is how long a refresh token stays usable after it is
	// issued (each use issues a new one). Zero: 14 days.
	RefreshTTL time.Duration
	// RefreshFamilyTTL bounds a login's lifetime, however often it is
	// refreshed. Zero: 90 days.
	RefreshFamilyTTL time.Duration
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// KeySeed, when set (at least 32 secret bytes), derives the signing
	// keys from the seed and the rotation period they sign in, instead of
	// generating them: every instance given the same seed signs with the
	// same key at the same time and publishes the same JWKS, so a token
	// issued by one verifies on all, and scheduled rotation needs no
	// coordination. Periods are aligned to the Unix epoch. Rotate is then
	// refused: replace a leaked seed instead. Empty: random keys per
	// process (verifiers must read each process's JWKS).
	KeySeed []byte
}

// Issuer mints access tokens signed with a rotating key, publishes the
// verification keys as a JWKS, and rotates refresh tokens with reuse
// detection. Its keys live in memory: without IssuerOptions.KeySeed every
// process has its own, so verifiers should read the JWKS of each (or run one
// issuer service); with it, every instance derives the same keys.
type Issuer struct {
	opts   IssuerOptions
	method jwt.SigningMethod
	now    func() time.Time

	mu   sync.RWMutex
	keys []*signingKey // oldest first; the last is the next key, the one before it signs
}

type signingKey struct {
	kid     string
	priv    crypto.Signer
	pub     Key
	active  time.Time // when it started (or starts) signing
	retired time.Time // zero while signing or waiting
}

// TokenPair is what a token endpoint returns (RFC 6749 section 5.1).
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// NewIssuer validates opts and returns an Issuer with fresh keys.
func NewIssuer(opts IssuerOptions) (*Issuer, error) {
	if opts.Issuer == "" {
		return nil, errs.Configf("authn: IssuerOptions.Issuer is required")
	}
	if len(opts.Audience) == 0 {
		return nil, errs.Configf("authn: IssuerOptions.Audience is required")
	}
	i := &Issuer{opts: opts, now: opts.Now}
	switch opts.Algorithm {
	case "", "EdDSA":
		i.opts.Algorithm, i.method = "EdDSA", jwt.SigningMethodEdDSA
	case "ES256":
		i.method = jwt.SigningMethodES256
	default:
		return nil, errs.Configf("authn: IssuerOptions.Algorithm %q: use EdDSA or ES256", opts.Algorithm)
	}
	defaults := []struct {
		d        *time.Duration
		def, max time.Duration
		name     string
	}{
		{&i.opts.AccessTTL, 15 * time.Minute, 24 * time.Hour, "AccessTTL"},
		{&i.opts.RotateEvery, 24 * time.Hour, 365 * 24 * time.Hour, "RotateEvery"},
		{&i.opts.RefreshTTL, 14 * 24 * time.Hour, 365 * 24 * time.Hour, "RefreshTTL"},
		{&i.opts.RefreshFamilyTTL, 90 * 24 * time.Hour, 3 * 365 * 24 * time.Hour, "RefreshFamilyTTL"},
	}
	for _, d := range defaults {
		if *d.d == 0 {
			*d.d = d.def
		}
		if *d.d < time.Second || *d.d > d.max {
			return nil, errs.Configf("authn: IssuerOptions.%s %s is outside 1s..%s", d.name, *d.d, d.max)
		}
	}
	if i.opts.RefreshTTL > i.opts.RefreshFamilyTTL {
		return nil, errs.Configf("authn: IssuerOptions.RefreshTTL is longer than RefreshFamilyTTL")
	}
	if i.now == nil {
		i.now = time.Now
	}
	now := i.now()
	if opts.KeySeed != nil {
		if len(opts.KeySeed) < 32 {
			return nil, errs.Configf("authn: IssuerOptions.KeySeed must hold at least 32 bytes")
		}
		i.opts.KeySeed = append([]byte(nil), opts.KeySeed...)
		return i, i.seedKeys(now)
	}
	cur, err := i.newKey(now)
	if err != nil {
		return nil, err
	}
	next, err := i.newKey(now.Add(i.opts.RotateEvery))
	if err != nil {
		return nil, err
	}
	i.keys = []*signingKey{cur, next}
	return i, nil
}

func (i *Issuer) newKey(active time.Time) (*signingKey, error) {
	var priv crypto.Signer
	var pub any
	var err error
	switch {
	case i.opts.KeySeed != nil:
		priv, pub, err = i.derivedKey(i.period(active))
	case i.opts.Algorithm == "EdDSA":
		var p ed25519.PrivateKey
		pub, p, err = ed25519.GenerateKey(rand.Reader)
		priv = p
	case i.opts.Algorithm == "ES256":
		var p *ecdsa.PrivateKey
		p, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err == nil {
			priv, pub = p, &p.PublicKey
		}
	}
	if err != nil {
		return nil, errs.Wrap(err, errs.KindInternal, "", "")
	}
	k := Key{Algorithm: i.opts.Algorithm, Key: pub}
	j, err := publicJWK(k)
	if err != nil {
		return nil, errs.Wrap(err, errs.KindInternal, "", "")
	}
	// The kid is a digest of the public key, so it never repeats.
	sum := sha256.Sum256([]byte(j.Crv + j.X + j.Y))
	k.ID = b64u.EncodeToString(sum[:12])
	return &signingKey{kid: k.ID, priv: priv, pub: k, active: active}, nil
}

// current returns the signing key, rotating first when it is due.
func (i *Issuer) current(now time.Time) (*signingKey, error) {
	i.mu.RLock()
	n := len(i.keys)
	next := i.keys[n-1]
	cur := i.keys[n-2]
	i.mu.RUnlock()
	if now.Before(next.active) {
		return cur, nil
	}
	if err := i.rotate(now, false); err != nil {
		return nil, err
	}
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.keys[len(i.keys)-2], nil
}

// Rotate makes the published next key the signing key now, publishes a new
// next key, and retires the old signing key (still verifiable for
// AccessTTL). Call it when a key may have leaked; rotation on schedule is
// automatic.
func (i *Issuer) Rotate() error {
	if i.opts.KeySeed != nil {
		return errs.Configf("authn: an Issuer with a KeySeed rotates on schedule only; replace the seed to replace its keys")
	}
	return i.rotate(i.now(), true)
}

func (i *Issuer) rotate(now time.Time, force bool) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	for {
		n := len(i.keys)
		next := i.keys[n-1]
		if !force && now.Before(next.active) {
			break
		}
		force = false
		if i.opts.KeySeed != nil {
			// Derived keys keep the aligned schedule every instance shares.
			nk, err := i.newKey(next.active.Add(i.opts.RotateEvery))
			if err != nil {
				return err
			}
			i.keys[n-2].retired = next.active
			i.keys = append(i.keys, nk)
			continue
		}
		nk, err := i.newKey(maxTime(now, next.active).Add(i.opts.RotateEvery))
		if err != nil {
			return err
		}
		i.keys[n-2].retired = now
		if next.active.After(now) {
			next.active = now
		}
		i.keys = append(i.keys, nk)
	}
	// Drop retired keys no token signed by them can still need.
	keep := i.keys[:0]
	for _, k := range i.keys {
		if k.retired.IsZero() || now.Before(k.retired.Add(i.opts.AccessTTL+time.Minute)) {
			keep = append(keep, k)
		}
	}
	i.keys = keep
	return nil
}

// period returns the number of the rotation period t falls in.
func (i *Issuer) period(t time.Time) int64 {
	return t.UnixNano() / int64(i.opts.RotateEvery)
}

// seedKeys sets up the derived keys around now: the signing key of the
// current period, the next one, and the retired ones whose tokens may still
// be alive.
func (i *Issuer) seedKeys(now time.Time) error {
	every := i.opts.RotateEvery
	start := time.Unix(0, i.period(now)*int64(every))
	back := int((i.opts.AccessTTL + time.Minute + every - 1) / every)
	for p := -back; p <= 1; p++ {
		k, err := i.newKey(start.Add(time.Duration(p) * every))
		if err != nil {
			return err
		}
		if p < 0 {
			k.retired = k.active.Add(every)
			if !now.Before(k.retired.Add(i.opts.AccessTTL + time.Minute)) {
				continue
			}
		}
		i.keys = append(i.keys, k)
	}
	return nil
}

// derivedKey derives the key pair of one rotation period from the seed.
func (i *Issuer) derivedKey(period int64) (crypto.Signer, any, error) {
	info := "covet authn issuer " + i.opts.Algorithm + " " + strconv.FormatInt(period, 10)
	for attempt := 0; attempt < 8; attempt++ {
		raw, err := hkdf.Key(sha256.New, i.opts.KeySeed, []byte{byte(attempt)}, info, 32)
		if err != nil {
			return nil, nil, err
		}
		switch i.opts.Algorithm {
		case "EdDSA":
			p := ed25519.NewKeyFromSeed(raw)
			return p, p.Public(), nil
		case "ES256":
			// A scalar of zero or at least the group order is refused;
			// the next attempt derives another.
			if p, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw); err == nil {
				return p, &p.PublicKey, nil
			}
		}
	}
	return nil, nil, errors.New("authn: no valid key could be derived from the seed")
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// issuedClaims are the claims of an access token (RFC 9068).
type issuedClaims struct {
	jwt.RegisteredClaims
	Scope    string   `json:"scope,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
}

// Issue mints an access token for g and returns it with its expiry.
func (i *Issuer) Issue(ctx context.Context, g Grant) (string, time.Time, error) {
	if g.Subject == "" {
		return "", time.Time{}, errs.New(errs.KindInternal, "", "authn: Issue needs a subject")
	}
	now := i.now()
	k, err := i.current(now)
	if err != nil {
		return "", time.Time{}, err
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	exp := now.Add(i.opts.AccessTTL)
	c := issuedClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.opts.Issuer,
			Subject:   g.Subject,
			Audience:  jwt.ClaimStrings(i.opts.Audience),
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        hex.EncodeToString(jti[:]),
		},
		Scope:    strings.Join(g.Scopes, " "),
		Roles:    g.Roles,
		ClientID: g.ClientID,
	}
	t := jwt.NewWithClaims(i.method, c)
	t.Header["kid"] = k.kid
	t.Header["typ"] = "at+jwt"
	s, err := t.SignedString(k.priv)
	if err != nil {
		return "", time.Time{}, errs.Wrap(err, errs.KindInternal, "", "")
	}
	return s, time.Unix(exp.Unix(), 0), nil
}

const refreshPrefix = "rt_"

func hashRefresh(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

func newRefreshToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return refreshPrefix + b64u.EncodeToString(b[:])
}

// IssuePair mints an access token and the first refresh token of a new
// family, for a login.
func (i *Issuer) IssuePair(ctx context.Context, g Grant) (TokenPair, error) {
	if i.opts.Refresh == nil {
		return TokenPair{}, errs.Configf("authn: IssuerOptions.Refresh is not set")
	}
	access, _, err := i.Issue(ctx, g)
	if err != nil {
		return TokenPair{}, err
	}
	now := i.now()
	var fam [16]byte
	_, _ = rand.Read(fam[:])
	rt := newRefreshToken()
	rec := RefreshRecord{
		Family:          hex.EncodeToString(fam[:]),
		Grant:           g,
		ExpiresAt:       now.Add(i.opts.RefreshTTL),
		FamilyExpiresAt: now.Add(i.opts.RefreshFamilyTTL),
	}
	if err := i.opts.Refresh.Create(ctx, hashRefresh(rt), rec); err != nil {
		return TokenPair{}, ErrUnavailable.WithCause(err)
	}
	return TokenPair{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(i.opts.AccessTTL / time.Second), RefreshToken: rt}, nil
}

// Refresh exchanges a refresh token for a new access token and a new
// refresh token; the old one stops working. Presenting an already used
// token revokes its whole family (someone copied it) and is refused, as are
// unknown, expired and revoked tokens: ErrInvalidGrant, with Reason
// "unknown", "reused" or "revoked".
func (i *Issuer) Refresh(ctx context.Context, refreshToken string) (TokenPair, error) {
	if i.opts.Refresh == nil {
		return TokenPair{}, errs.Configf("authn: IssuerOptions.Refresh is not set")
	}
	if !strings.HasPrefix(refreshToken, refreshPrefix) || len(refreshToken) > 128 {
		return TokenPair{}, fail(ErrInvalidGrant, "malformed", nil)
	}
	now := i.now()
	next := newRefreshToken()
	rec, err := i.opts.Refresh.Rotate(ctx, hashRefresh(refreshToken), hashRefresh(next), now, now.Add(i.opts.RefreshTTL))
	switch {
	case errors.Is(err, ErrRefreshUnknown):
		return TokenPair{}, fail(ErrInvalidGrant, "unknown", err)
	case errors.Is(err, ErrRefreshRevoked):
		return TokenPair{}, fail(ErrInvalidGrant, "revoked", err)
	case errors.Is(err, ErrRefreshReused):
		errs.Audit(ctx, "authn.refresh_reuse", slog.String("outcome", "family_revoked"))
		return TokenPair{}, fail(ErrInvalidGrant, "reused", err)
	case err != nil:
		return TokenPair{}, ErrUnavailable.WithCause(err)
	}
	access, _, err := i.Issue(ctx, rec.Grant)
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(i.opts.AccessTTL / time.Second), RefreshToken: next}, nil
}

// Revoke ends the login a refresh token belongs to (its whole family).
func (i *Issuer) Revoke(ctx context.Context, refreshToken string) error {
	if i.opts.Refresh == nil {
		return errs.Configf("authn: IssuerOptions.Refresh is not set")
	}
	if err := i.opts.Refresh.Revoke(ctx, hashRefresh(refreshToken)); err != nil {
		return ErrUnavailable.WithCause(err)
	}
	return nil
}

// VerificationKey implements KeySet over the issuer's published keys.
func (i *Issuer) VerificationKey(_ context.Context, kid string) (Key, error) {
	if kid == "" {
		return Key{}, &reasonError{reason: "missing_kid"}
	}
	now := i.now()
	i.mu.RLock()
	defer i.mu.RUnlock()
	for _, k := range i.keys {
		if k.kid == kid {
			if !k.retired.IsZero() && !now.Before(k.retired.Add(i.opts.AccessTTL+time.Minute)) {
				break
			}
			return k.pub, nil
		}
	}
	return Key{}, &reasonError{reason: "unknown_kid", err: errUnknownKID}
}

// Verifier returns a Verifier for this issuer's tokens: its keys,
// algorithm, issuer, audience and "at+jwt" type, plus whatever else opts
// sets (cache, revocation, leeway).
func (i *Issuer) Verifier(opts VerifierOptions) (*Verifier, error) {
	opts.Keys = i
	opts.Algorithms = []string{i.opts.Algorithm}
	opts.Issuer = i.opts.Issuer
	if len(opts.Audience) == 0 {
		opts.Audience = i.opts.Audience
	}
	opts.Type = "at+jwt"
	if opts.Now == nil {
		opts.Now = i.opts.Now
	}
	return NewVerifier(opts)
}

// JWKS returns the published key set document.
func (i *Issuer) JWKS() []byte {
	now := i.now()
	_, _ = i.current(now) // publish on schedule even when idle
	i.mu.RLock()
	defer i.mu.RUnlock()
	set := struct {
		Keys []jwk `json:"keys"`
	}{}
	for _, k := range i.keys {
		if !k.retired.IsZero() && !now.Before(k.retired.Add(i.opts.AccessTTL+time.Minute)) {
			continue
		}
		j, err := publicJWK(k.pub)
		if err == nil {
			set.Keys = append(set.Keys, j)
		}
	}
	b, _ := json.Marshal(set)
	return b
}

// JWKSHandler serves the key set (GET and HEAD), cacheable for a tenth of
// the rotation period (at most an hour).
func (i *Issuer) JWKSHandler() http.Handler {
	maxAge := min(i.opts.RotateEvery/10, time.Hour)
	cc := "public, max-age=" + strconv.Itoa(int(maxAge.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			errs.Write(w, r, errs.New(errs.KindMethodNotAllowed, "", "Use GET."))
			return
		}
		body := i.JWKS()
		h := w.Header()
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Cache-Control", cc)
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	})
}
