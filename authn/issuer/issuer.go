package issuer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/covetgo/covet/authn"
	authnjwt "github.com/covetgo/covet/authn/jwt"
	"github.com/covetgo/covet/errs"
	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidGrant: a refresh token is unknown, expired, reused or revoked
// (400, code "invalid_grant", as RFC 6749 section 5.2 answers).
var ErrInvalidGrant = errs.New(errs.KindBadRequest, "invalid_grant", "The refresh token is invalid, expired or revoked.")

// Options configure an Issuer.
type Options struct {
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
	// RefreshReuseGrace is the reuse interval: a refresh token presented
	// again less than this long after its first use gets the same
	// successor back (same token, same expiry), while that successor is
	// unused, instead of counting as reuse, so a client that lost the answer (a timeout, two tabs
	// racing) or a store call retried after a lost reply does not end the
	// login. Later reuse revokes the family. Zero: 10 seconds; 1s..1m.
	// The successor is derived from the presented token with a key from
	// KeySeed (random per process without one), so instances share the
	// interval only when they share KeySeed.
	RefreshReuseGrace time.Duration
	// Reload, when set, is called at every refresh with the grant stored
	// at login and returns the subject's current grant (roles, scopes),
	// which the new access token then carries: a demoted user loses a
	// role at the next refresh. Return ErrGrantRevoked (or an error
	// wrapping it) for a subject that may no longer log in (disabled,
	// deleted): the refresh is refused with ErrInvalidGrant (Reason
	// "grant_revoked") and the login's family is revoked. Any other error
	// is ErrUnavailable (503).
	Reload func(ctx context.Context, g Grant) (Grant, error)
	// Revocations, when set, revokes access tokens before they expire:
	// Logout and RevokeSubject write to it, the Issuer's verifiers read
	// it, and a refresh of a login made before the subject's cut-off
	// (RevokeSubject) is refused and its family revoked. A login that
	// ends (Logout, RevokeLogin, Revoke, a reused refresh token, a
	// subject Reload refuses) takes every access token carrying its
	// "sid" with it, on every device.
	Revocations RevocationStore
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
// detection. Its keys live in memory: without Options.KeySeed every
// process has its own, so verifiers should read the JWKS of each (or run one
// issuer service); with it, every instance derives the same keys.
type Issuer struct {
	opts   Options
	method jwt.SigningMethod
	now    func() time.Time

	mu   sync.RWMutex
	keys []*signingKey // oldest first; the last is the next key, the one before it signs

	// successorKey derives a refresh token's successor from the token.
	successorKey []byte
}

// ErrGrantRevoked is what Options.Reload returns for a subject that
// may no longer refresh (disabled or deleted).
var ErrGrantRevoked = errors.New("authn: the subject may no longer log in")

type signingKey struct {
	kid     string
	priv    crypto.Signer
	pub     authnjwt.Key
	active  time.Time // when it started (or starts) signing
	retired time.Time // zero while signing or waiting
}

// TokenPair is what a token endpoint returns (RFC 6749 section 5.1).
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// LoginID identifies the login (the refresh family; the access
	// token's "sid"). It is not sent to the client: keep it server-side
	// (in the session) to end the login with RevokeLogin.
	LoginID string `json:"-"`
}

// New validates opts and returns an Issuer with fresh keys.
func New(opts Options) (*Issuer, error) {
	if opts.Issuer == "" {
		return nil, errs.Configf("authn: Options.Issuer is required")
	}
	if len(opts.Audience) == 0 {
		return nil, errs.Configf("authn: Options.Audience is required")
	}
	i := &Issuer{opts: opts, now: opts.Now}
	var err error
	if i.opts.Algorithm, i.method, err = signingMethod(opts.Algorithm); err != nil {
		return nil, err
	}
	if err := i.opts.setLifetimes(); err != nil {
		return nil, err
	}
	if i.now == nil {
		i.now = time.Now
	}
	if opts.KeySeed != nil {
		return i.fromSeed(opts.KeySeed)
	}
	if err := i.randomKeys(); err != nil {
		return nil, err
	}
	return i, nil
}

// signingMethod maps Options.Algorithm to its name and method; "" is EdDSA.
func signingMethod(alg string) (string, jwt.SigningMethod, error) {
	switch alg {
	case "", "EdDSA":
		return "EdDSA", jwt.SigningMethodEdDSA, nil
	case "ES256":
		return alg, jwt.SigningMethodES256, nil
	default:
		return "", nil, errs.Configf("authn: Options.Algorithm %q: use EdDSA or ES256", alg)
	}
}

// setLifetimes fills the zero durations with their defaults and refuses
// one outside its bounds, or refresh tokens that outlive their family.
func (opts *Options) setLifetimes() error {
	lifetimes := []struct {
		d        *time.Duration
		def, max time.Duration
		name     string
	}{
		{&opts.AccessTTL, 15 * time.Minute, 24 * time.Hour, "AccessTTL"},
		{&opts.RotateEvery, 24 * time.Hour, 365 * 24 * time.Hour, "RotateEvery"},
		{&opts.RefreshTTL, 14 * 24 * time.Hour, 365 * 24 * time.Hour, "RefreshTTL"},
		{&opts.RefreshFamilyTTL, 90 * 24 * time.Hour, 3 * 365 * 24 * time.Hour, "RefreshFamilyTTL"},
		{&opts.RefreshReuseGrace, 10 * time.Second, time.Minute, "RefreshReuseGrace"},
	}
	for _, d := range lifetimes {
		if *d.d == 0 {
			*d.d = d.def
		}
		if *d.d < time.Second || *d.d > d.max {
			return errs.Configf("authn: Options.%s %s is outside 1s..%s", d.name, *d.d, d.max)
		}
	}
	if opts.RefreshTTL > opts.RefreshFamilyTTL {
		return errs.Configf("authn: Options.RefreshTTL is longer than RefreshFamilyTTL")
	}
	return nil
}

// fromSeed derives the successor key and the signing keys from seed, so
// that every instance given it signs alike.
func (i *Issuer) fromSeed(seed []byte) (*Issuer, error) {
	if len(seed) < 32 {
		return nil, errs.Configf("authn: Options.KeySeed must hold at least 32 bytes")
	}
	i.opts.KeySeed = append([]byte(nil), seed...)
	k, err := hkdf.Key(sha256.New, i.opts.KeySeed, nil, "covet authn refresh successor", 32)
	if err != nil {
		return nil, errs.Wrap(err, errs.KindInternal, "", "")
	}
	i.successorKey = k
	return i, i.seedKeys(i.now())
}

// randomKeys generates the successor key, the current signing key and the
// next one, which starts signing after RotateEvery.
func (i *Issuer) randomKeys() error {
	now := i.now()
	i.successorKey = make([]byte, 32)
	_, _ = rand.Read(i.successorKey)
	cur, err := i.newKey(now)
	if err != nil {
		return err
	}
	next, err := i.newKey(now.Add(i.opts.RotateEvery))
	if err != nil {
		return err
	}
	i.keys = []*signingKey{cur, next}
	return nil
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
	k := authnjwt.Key{Algorithm: i.opts.Algorithm, Key: pub}
	j, err := authnjwt.PublicJWK(k)
	if err != nil {
		return nil, errs.Wrap(err, errs.KindInternal, "", "")
	}
	// The kid is a digest of the public key, so it never repeats.
	sum := sha256.Sum256([]byte(j.Crv + j.X + j.Y))
	k.ID = base64.RawURLEncoding.EncodeToString(sum[:12])
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
	// SessionID is the login (refresh family) the token belongs to, as
	// OpenID Connect's "sid": Logout revokes the login by it.
	SessionID string `json:"sid,omitempty"`
}

// Issue mints an access token for g and returns it with its expiry.
func (i *Issuer) Issue(ctx context.Context, g Grant) (string, time.Time, error) {
	return i.issue(g, "")
}

// issue mints an access token for g of the login sid ("" for none).
func (i *Issuer) issue(g Grant, sid string) (string, time.Time, error) {
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
		Scope:     strings.Join(g.Scopes, " "),
		Roles:     g.Roles,
		ClientID:  g.ClientID,
		SessionID: sid,
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

// A refresh token is "rt_" + family (32 hex digits) + "_" + 43 base64url
// characters: random for a login's first token, derived from the token it
// replaces for the others. The family in the token lets the store find the
// family's keys (one Redis Cluster slot) before reading anything.
const refreshTokenLen = len(refreshPrefix) + 32 + 1 + 43

func hashRefresh(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// parseRefresh returns the family of a well-formed refresh token.
func parseRefresh(tok string) (family string, ok bool) {
	if len(tok) != refreshTokenLen || !strings.HasPrefix(tok, refreshPrefix) || tok[len(refreshPrefix)+32] != '_' {
		return "", false
	}
	family = tok[len(refreshPrefix) : len(refreshPrefix)+32]
	for i := 0; i < len(family); i++ {
		if c := family[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return family, true
}

func newFamily() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func newRefreshToken(family string) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return refreshPrefix + family + "_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// successor derives the token that replaces tok: the same token presented
// twice gets the same successor, which nobody can compute without the key.
func (i *Issuer) successor(family, tok string) string {
	m := hmac.New(sha256.New, i.successorKey)
	m.Write([]byte(tok))
	return refreshPrefix + family + "_" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// IssuePair mints an access token and the first refresh token of a new
// family, for a login.
func (i *Issuer) IssuePair(ctx context.Context, g Grant) (TokenPair, error) {
	if i.opts.Refresh == nil {
		return TokenPair{}, errs.Configf("authn: Options.Refresh is not set")
	}
	if g.Subject == "" {
		return TokenPair{}, errs.New(errs.KindInternal, "", "authn: IssuePair needs a subject")
	}
	now := i.now()
	fam := newFamily()
	rt := newRefreshToken(fam)
	rec := RefreshRecord{
		Family:          fam,
		Grant:           g,
		ExpiresAt:       now.Add(i.opts.RefreshTTL),
		FamilyExpiresAt: now.Add(i.opts.RefreshFamilyTTL),
		AuthTime:        now,
	}
	if err := i.opts.Refresh.Create(ctx, hashRefresh(rt), rec); err != nil {
		return TokenPair{}, authn.ErrUnavailable.WithCause(err)
	}
	access, _, err := i.issue(g, fam)
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(i.opts.AccessTTL / time.Second), RefreshToken: rt, LoginID: fam}, nil
}

// Refresh exchanges a refresh token for a new access token and a new
// refresh token; the old one stops working. Presenting an already used
// token revokes its whole family (someone copied it) and is refused, unless
// it comes back within RefreshReuseGrace, which answers the same successor
// again. Unknown, expired and revoked tokens are refused too: ErrInvalidGrant,
// with Reason "malformed", "unknown", "reused", "revoked" or
// "grant_revoked" (Options.Reload refused the subject). A store that
// fails is ErrUnavailable (503 with Retry-After): the client keeps its token
// and may try again.
func (i *Issuer) Refresh(ctx context.Context, refreshToken string) (TokenPair, error) {
	if i.opts.Refresh == nil {
		return TokenPair{}, errs.Configf("authn: Options.Refresh is not set")
	}
	fam, ok := parseRefresh(refreshToken)
	if !ok {
		return TokenPair{}, authn.WithReason(ErrInvalidGrant, "malformed", nil)
	}
	now := i.now()
	next := i.successor(fam, refreshToken)
	rec, err := i.opts.Refresh.Rotate(ctx, Rotation{
		Family: fam, Hash: hashRefresh(refreshToken), NextHash: hashRefresh(next),
		Now: now, NextExpiresAt: now.Add(i.opts.RefreshTTL), Grace: i.opts.RefreshReuseGrace,
	})
	if err != nil {
		refusal := rotationError(ctx, err)
		if errors.Is(err, ErrRefreshReused) || errors.Is(err, ErrRefreshRevoked) {
			// The login has ended: so have its access tokens (again, for
			// a revoked one, in case an outage cut that short before).
			if err := i.revokeAccess(ctx, rec.Grant.Subject, fam); err != nil {
				return TokenPair{}, err
			}
		}
		return TokenPair{}, refusal
	}
	if err := i.checkCutoff(ctx, fam, &rec); err != nil {
		return TokenPair{}, err
	}
	g, err := i.reloadGrant(ctx, fam, &rec)
	if err != nil {
		return TokenPair{}, err
	}
	access, _, err := i.issue(g, fam)
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(i.opts.AccessTTL / time.Second), RefreshToken: next, LoginID: fam}, nil
}

// rotationError is the refusal of a refresh token the store would not
// rotate; a reused one is audited, since its family has just been revoked.
func rotationError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, ErrRefreshUnknown):
		return authn.WithReason(ErrInvalidGrant, "unknown", err)
	case errors.Is(err, ErrRefreshRevoked):
		return authn.WithReason(ErrInvalidGrant, "revoked", err)
	case errors.Is(err, ErrRefreshReused):
		errs.Audit(ctx, "authn.refresh_reuse", slog.String("outcome", "family_revoked"))
		return authn.WithReason(ErrInvalidGrant, "reused", err)
	default:
		return authn.ErrUnavailable.WithCause(err)
	}
}

// checkCutoff refuses, and revokes the family of, a login made before its
// subject's revocation cut-off (RevokeSubject).
func (i *Issuer) checkCutoff(ctx context.Context, fam string, rec *RefreshRecord) error {
	r := i.opts.Revocations
	if r == nil {
		return nil
	}
	before, err := r.RevokedBefore(ctx, rec.Grant.Subject)
	if err != nil {
		return authn.ErrUnavailable.WithCause(err)
	}
	if !revokedByCutoff(rec.AuthTime, before, true) {
		return nil
	}
	if err := i.endLogin(ctx, fam, rec.Grant.Subject, rec.FamilyExpiresAt); err != nil {
		return err
	}
	return authn.WithReason(ErrInvalidGrant, "revoked", nil)
}

// reloadGrant returns the grant the new access token carries: the one
// stored at login, or Options.Reload's current one. A subject Reload
// refuses has its family revoked.
func (i *Issuer) reloadGrant(ctx context.Context, fam string, rec *RefreshRecord) (Grant, error) {
	if i.opts.Reload == nil {
		return rec.Grant, nil
	}
	g, err := i.opts.Reload(ctx, rec.Grant)
	if errors.Is(err, ErrGrantRevoked) {
		if err := i.endLogin(ctx, fam, rec.Grant.Subject, rec.FamilyExpiresAt); err != nil {
			return Grant{}, err
		}
		errs.Audit(ctx, "authn.refresh_refused", slog.String("reason", "grant_revoked"))
		return Grant{}, authn.WithReason(ErrInvalidGrant, "grant_revoked", err)
	}
	if err != nil {
		return Grant{}, authn.ErrUnavailable.WithCause(err)
	}
	if g.Subject != rec.Grant.Subject {
		return Grant{}, errs.New(errs.KindInternal, "", "authn: Options.Reload changed the subject")
	}
	return g, nil
}

// revokeAccess revokes, through Options.Revocations, every access token of
// subject whose "sid" is fam, until the last one the login may hold has
// expired. A login has no new access token once its family is revoked, so
// that is AccessTTL from now.
func (i *Issuer) revokeAccess(ctx context.Context, subject, fam string) error {
	r := i.opts.Revocations
	if r == nil || subject == "" || fam == "" {
		return nil
	}
	if err := r.RevokeLogin(ctx, subject, fam, i.now().Add(i.opts.AccessTTL+RevocationMargin)); err != nil {
		return authn.ErrUnavailable.WithCause(err)
	}
	return nil
}

// endLogin revokes the family fam until at least until, then the login's
// access tokens. subject is the login's when the caller knows it, else
// the store names it.
func (i *Issuer) endLogin(ctx context.Context, fam, subject string, until time.Time) error {
	stored, err := i.opts.Refresh.RevokeFamily(ctx, fam, until)
	if err != nil {
		return authn.ErrUnavailable.WithCause(err)
	}
	if subject == "" {
		subject = stored
	}
	return i.revokeAccess(ctx, subject, fam)
}

// Revoke ends the login a refresh token belongs to (its whole family,
// and with Options.Revocations its access tokens, as RFC 7009 section 2.1
// advises). A token that is malformed or unknown is not an error.
func (i *Issuer) Revoke(ctx context.Context, refreshToken string) error {
	if i.opts.Refresh == nil {
		return errs.Configf("authn: Options.Refresh is not set")
	}
	fam, ok := parseRefresh(refreshToken)
	if !ok {
		return nil
	}
	subject, err := i.opts.Refresh.Revoke(ctx, fam, hashRefresh(refreshToken))
	if err != nil {
		return authn.ErrUnavailable.WithCause(err)
	}
	return i.revokeAccess(ctx, subject, fam)
}

// RevokeLogin ends a login by its ID (TokenPair.LoginID, the "sid" claim
// of its access tokens) without the refresh token: the server-side half of
// a logout, for example from the ID kept in a session. With
// Options.Revocations the login's access tokens are revoked too, on every
// device that holds one; without it they stay valid until they expire.
// An error leaves the login possibly half ended: call again (it is
// idempotent).
func (i *Issuer) RevokeLogin(ctx context.Context, loginID string) error {
	if i.opts.Refresh == nil {
		return errs.Configf("authn: Options.Refresh is not set")
	}
	if len(loginID) != 32 {
		return nil // not one of ours
	}
	return i.endLogin(ctx, loginID, "", i.now().Add(i.opts.RefreshFamilyTTL))
}

// LoginID returns the login (refresh family) of verified access-token
// claims: their "sid" claim (Claims.SessionID), or "" when they have none.
func LoginID(c *authn.Claims) string {
	if c == nil {
		return ""
	}
	return c.SessionID
}

// Logout ends the login of a verified access token: it revokes the token
// itself and every other access token of its login (through
// Options.Revocations, when set) and the refresh family named by its
// "sid" claim (when Options.Refresh is set), so the client need not send
// its refresh token.
func (i *Issuer) Logout(ctx context.Context, c *authn.Claims) error {
	if c == nil {
		return nil
	}
	if r := i.opts.Revocations; r != nil && c.ID != "" && c.ExpiresAt != nil {
		if err := r.RevokeToken(ctx, c.Subject, c.ID, c.ExpiresAt.Time); err != nil {
			return authn.ErrUnavailable.WithCause(err)
		}
	}
	sid := LoginID(c)
	if sid == "" {
		return nil
	}
	if i.opts.Refresh == nil {
		return i.revokeAccess(ctx, c.Subject, sid)
	}
	return i.endLogin(ctx, sid, c.Subject, i.now().Add(i.opts.RefreshFamilyTTL))
}

// RevokeSubject revokes every access token and every login of subject made
// before before (at one-second precision; Options.Revocations is
// required): for a password change (then issue the current client a new
// pair), a disabled account, or "log out everywhere". Refresh tokens of
// those logins are refused at their next use.
func (i *Issuer) RevokeSubject(ctx context.Context, subject string, before time.Time) error {
	r := i.opts.Revocations
	if r == nil {
		return errs.Configf("authn: Options.Revocations is not set")
	}
	// The cut-off must outlive every credential it catches: the longest
	// login, and the access tokens issued in it, which verifiers take
	// for their leeway past expiry.
	keep := i.now().Add(max(i.opts.RefreshFamilyTTL, i.opts.AccessTTL+RevocationMargin))
	if err := r.RevokeSubject(ctx, subject, before, keep); err != nil {
		return authn.ErrUnavailable.WithCause(err)
	}
	return nil
}

// VerificationKey implements KeySet over the issuer's published keys.
func (i *Issuer) VerificationKey(_ context.Context, kid string) (authnjwt.Key, error) {
	if kid == "" {
		return authnjwt.Key{}, &authn.ReasonError{Reason: "missing_kid"}
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
	return authnjwt.Key{}, &authn.ReasonError{Reason: "unknown_kid", Err: errUnknownKID}
}

// Verifier returns a Verifier for this issuer's tokens: its keys,
// algorithm, issuer, audience and "at+jwt" type, plus whatever else opts
// sets (cache, revocation, leeway).
func (i *Issuer) Verifier(opts authnjwt.VerifierOptions) (*authnjwt.Verifier, error) {
	opts.Keys = i
	opts.Algorithms = []string{i.opts.Algorithm}
	opts.Issuer = i.opts.Issuer
	if len(opts.Audience) == 0 {
		opts.Audience = i.opts.Audience
	}
	opts.Type = "at+jwt"
	if opts.Revocation == nil && i.opts.Revocations != nil {
		opts.Revocation = i.opts.Revocations
	}
	if opts.Now == nil {
		opts.Now = i.opts.Now
	}
	return authnjwt.NewVerifier(opts)
}

// JWKS returns the published key set document.
func (i *Issuer) JWKS() []byte {
	now := i.now()
	_, _ = i.current(now) // publish on schedule even when idle
	i.mu.RLock()
	defer i.mu.RUnlock()
	set := struct {
		Keys []authnjwt.JWK `json:"keys"`
	}{}
	for _, k := range i.keys {
		if !k.retired.IsZero() && !now.Before(k.retired.Add(i.opts.AccessTTL+time.Minute)) {
			continue
		}
		j, err := authnjwt.PublicJWK(k.pub)
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

var errUnknownKID = errors.New("no key with this kid")
