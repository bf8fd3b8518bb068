package totp

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/errs"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	potp "github.com/pquerna/otp/totp"
)

// The TOTP errors.
var (
	// ErrInvalidCode: the one-time or recovery code is wrong, malformed or
	// already used (401, code "invalid_code").
	ErrInvalidCode = errs.New(errs.KindAuthentication, "invalid_code", "The code is invalid.")
	// ErrTooManyAttempts: the account has failed too often recently (429,
	// code "too_many_attempts").
	ErrTooManyAttempts = errs.New(errs.KindRateLimit, "too_many_attempts", "Too many failed attempts; try again later.")
)

// Store keeps, per account, the last time step a code was accepted for
// and the recent failures. Implementations must make UseStep atomic: two
// concurrent calls with the same step must not both succeed.
type Store interface {
	// UseStep records step as used when it is later than the last used
	// step for account (a compare-and-swap), and reports whether it did.
	UseStep(ctx context.Context, account string, step int64) (bool, error)
	// AddFailure counts a failed attempt and returns the failures within
	// window, this one included.
	AddFailure(ctx context.Context, account string, window time.Duration) (int, error)
	// Failures returns the failures within window.
	Failures(ctx context.Context, account string, window time.Duration) (int, error)
	// ResetFailures forgets the account's failures.
	ResetFailures(ctx context.Context, account string) error
}

// RecoveryStore holds the hashes of an account's recovery codes.
type RecoveryStore interface {
	// ConsumeRecoveryCode deletes hash from the account's codes and reports
	// whether it was there; it must be atomic, so a code works once.
	ConsumeRecoveryCode(ctx context.Context, account, hash string) (bool, error)
}

// Options configure TOTP.
type Options struct {
	// Issuer names the service in authenticator apps; required.
	Issuer string
	// Store keeps used steps and failures; required.
	Store Store
	// Recovery holds recovery code hashes; needed for VerifyRecoveryCode.
	Recovery RecoveryStore
	// Skew is how many steps before and after the current one are
	// accepted. Zero: 1. At most 2.
	Skew int
	// MaxFailures is how many failures within FailureWindow lock an
	// account's TOTP checks. Zero: 5.
	MaxFailures int
	// FailureWindow is the window failures count in. Zero: 15 minutes.
	FailureWindow time.Duration
	// Algorithm is the HMAC hash of RFC 6238: "SHA1" (the default, and
	// the only one every authenticator app supports), "SHA256" or
	// "SHA512". Enrolment URLs carry it, so apps that support it follow.
	Algorithm string
	// Digits is the code length: 6 (the default) or 8.
	Digits int
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// Verifier enrols and verifies RFC 6238 time-based one-time passwords (30 s
// steps; 6 digits and SHA-1 by default, what authenticator apps expect;
// 8 digits, SHA-256 and SHA-512 as options), refusing replays.
type Verifier struct {
	issuer   string
	store    Store
	recovery RecoveryStore
	skew     int64
	max      int
	window   time.Duration
	alg      otp.Algorithm
	digits   otp.Digits
	now      func() time.Time
}

const totpPeriod = 30

// New validates opts and returns a TOTP.
func New(opts Options) (*Verifier, error) {
	if opts.Issuer == "" || strings.Contains(opts.Issuer, ":") {
		return nil, errs.Configf("authn: Options.Issuer is required and may not contain ':'")
	}
	if opts.Store == nil {
		return nil, errs.Configf("authn: Options.Store is required (replay protection needs it)")
	}
	t := &Verifier{
		issuer:   opts.Issuer,
		store:    opts.Store,
		recovery: opts.Recovery,
		skew:     int64(cmp.Or(opts.Skew, 1)),
		max:      cmp.Or(opts.MaxFailures, 5),
		window:   cmp.Or(opts.FailureWindow, 15*time.Minute),
		now:      opts.Now,
	}
	if err := t.checkLimits(); err != nil {
		return nil, err
	}
	var err error
	if t.alg, err = parseAlgorithm(opts.Algorithm); err != nil {
		return nil, err
	}
	if t.digits, err = parseDigits(opts.Digits); err != nil {
		return nil, err
	}
	if t.now == nil {
		t.now = time.Now
	}
	return t, nil
}

// checkLimits refuses a skew outside 0..2 steps and a negative failure
// limit or window.
func (t *Verifier) checkLimits() error {
	if t.skew < 0 || t.skew > 2 {
		return errs.Configf("authn: Options.Skew %d is outside 0..2", t.skew)
	}
	if t.max < 0 {
		return errs.Configf("authn: Options.MaxFailures is negative")
	}
	if t.window < 0 {
		return errs.Configf("authn: Options.FailureWindow is negative")
	}
	return nil
}

// parseAlgorithm maps Options.Algorithm to its HMAC hash; "" is SHA-1.
func parseAlgorithm(name string) (otp.Algorithm, error) {
	switch strings.ToUpper(strings.ReplaceAll(name, "-", "")) {
	case "", "SHA1":
		return otp.AlgorithmSHA1, nil
	case "SHA256":
		return otp.AlgorithmSHA256, nil
	case "SHA512":
		return otp.AlgorithmSHA512, nil
	default:
		return 0, errs.Configf("authn: Options.Algorithm %q: use SHA1, SHA256 or SHA512", name)
	}
}

// parseDigits maps Options.Digits to a code length; 0 is 6.
func parseDigits(n int) (otp.Digits, error) {
	switch n {
	case 0, 6:
		return otp.DigitsSix, nil
	case 8:
		return otp.DigitsEight, nil
	default:
		return 0, errs.Configf("authn: Options.Digits %d: use 6 or 8", n)
	}
}

// Enrollment is a new TOTP secret for an account: store Secret (encrypted at
// rest) and show URL as a QR code.
type Enrollment struct {
	Secret string // base32, no padding
	URL    string // otpauth://totp/...
}

// Enroll generates a secret for account (the name shown in the app).
func (t *Verifier) Enroll(account string) (Enrollment, error) {
	// The secret is as long as the hash's output, as RFC 4226 section 4
	// recommends (20, 32 or 64 bytes).
	size := uint(20)
	switch t.alg {
	case otp.AlgorithmSHA256:
		size = 32
	case otp.AlgorithmSHA512:
		size = 64
	}
	key, err := potp.Generate(potp.GenerateOpts{Issuer: t.issuer, AccountName: account, SecretSize: size, Digits: t.digits, Algorithm: t.alg})
	if err != nil {
		return Enrollment{}, errs.Wrap(err, errs.KindBadRequest, "invalid_account", "The account name is invalid.")
	}
	return Enrollment{Secret: key.Secret(), URL: key.URL()}, nil
}

// Verify checks code for the account with secret and returns the time step
// it matched. A code is accepted for the current step or up to Skew steps
// around it, and only when its step is later than the last accepted one, so
// a code cannot be replayed (nor an older one used after a newer). Errors:
// ErrInvalidCode (authn.Reason "malformed", "mismatch", "replayed"),
// ErrTooManyAttempts, authn.ErrUnavailable when the store fails.
func (t *Verifier) Verify(ctx context.Context, account, secret, code string) (int64, error) {
	if err := t.attempt(ctx, account); err != nil {
		return 0, err
	}
	if len(code) != t.digits.Length() || strings.Trim(code, "0123456789") != "" {
		return 0, t.failed(ctx, account, "malformed")
	}
	now := t.now().Unix() / totpPeriod
	matched := int64(-1)
	for d := -t.skew; d <= t.skew; d++ {
		step := now + d
		if step < 0 {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: t.digits, Algorithm: t.alg})
		if err != nil {
			return 0, errs.Wrap(err, errs.KindInternal, "", "")
		}
		// Check every step, in constant time, so timing does not tell which matched.
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && matched < 0 {
			matched = step
		}
	}
	if matched < 0 {
		return 0, t.failed(ctx, account, "mismatch")
	}
	ok, err := t.store.UseStep(ctx, account, matched)
	if err != nil {
		return 0, authn.ErrUnavailable.WithCause(err)
	}
	if !ok {
		return 0, t.failed(ctx, account, "replayed")
	}
	if err := t.store.ResetFailures(ctx, account); err != nil {
		return 0, authn.ErrUnavailable.WithCause(err)
	}
	return matched, nil
}

// attempt counts an attempt as a failure before the code is checked (a
// success resets the count), so concurrent guesses cannot all pass the
// limit check before any of them is counted.
func (t *Verifier) attempt(ctx context.Context, account string) error {
	n, err := t.store.AddFailure(ctx, account, t.window)
	if err != nil {
		return authn.ErrUnavailable.WithCause(err)
	}
	if n > t.max {
		return ErrTooManyAttempts
	}
	return nil
}

// failed records a refused code; attempt has already counted it.
func (t *Verifier) failed(ctx context.Context, account, reason string) error {
	errs.Audit(ctx, "authn.totp_failure", slog.String("account", account), slog.String("reason", reason))
	return authn.WithReason(ErrInvalidCode, reason, nil)
}

// recoveryAlphabet has no look-alike characters (no i, l, o, 0 or 1).
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// NewRecoveryCodes returns n fresh recovery codes to show the user once
// ("xxxxx-xxxxx": ten characters drawn uniformly from 31, about 49 random
// bits each) and their hashes to store.
func NewRecoveryCodes(n int) (codes, hashes []string, err error) {
	if n <= 0 || n > 100 {
		return nil, nil, errs.Configf("authn: NewRecoveryCodes: n %d is outside 1..100", n)
	}
	for range n {
		s, err := randomChars(10)
		if err != nil {
			return nil, nil, errs.Wrap(err, errs.KindInternal, "", "")
		}
		code := s[:5] + "-" + s[5:]
		codes = append(codes, code)
		hashes = append(hashes, HashRecoveryCode(code))
	}
	return codes, hashes, nil
}

// randomChars draws n characters uniformly from recoveryAlphabet, by
// rejecting the random bytes that would bias the modulo.
func randomChars(n int) (string, error) {
	const limit = 256 - 256%len(recoveryAlphabet)
	out := make([]byte, 0, n)
	var buf [32]byte
	for len(out) < n {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, recoveryAlphabet[int(b)%len(recoveryAlphabet)])
			}
		}
	}
	return string(out), nil
}

// HashRecoveryCode returns the stored form of a recovery code: the hex
// SHA-256 of its normalized text (lower case, without spaces or dashes).
// Codes carry about 49 random bits, so a fast hash suffices.
func HashRecoveryCode(code string) string {
	norm := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
	sum := sha256.Sum256([]byte("covet-recovery:" + norm))
	return hex.EncodeToString(sum[:])
}

// VerifyRecoveryCode consumes one of the account's recovery codes. It
// shares the failure limit with Verify. Errors: ErrInvalidCode,
// ErrTooManyAttempts, authn.ErrUnavailable.
func (t *Verifier) VerifyRecoveryCode(ctx context.Context, account, code string) error {
	if t.recovery == nil {
		return errs.Configf("authn: Options.Recovery is not set")
	}
	if err := t.attempt(ctx, account); err != nil {
		return err
	}
	if len(code) > 32 {
		return t.failed(ctx, account, "malformed")
	}
	ok, err := t.recovery.ConsumeRecoveryCode(ctx, account, HashRecoveryCode(code))
	if err != nil {
		return authn.ErrUnavailable.WithCause(err)
	}
	if !ok {
		return t.failed(ctx, account, "mismatch")
	}
	return t.store.ResetFailures(ctx, account)
}

// MemoryStore is an in-process Store and RecoveryStore, for tests
// and single-instance deployments.
type MemoryStore struct {
	mu       sync.Mutex
	steps    map[string]int64
	failures map[string][]time.Time
	codes    map[string]map[string]struct{}
	now      func() time.Time
}

// NewMemoryStore returns an empty store. now may be nil (time.Now).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{steps: map[string]int64{}, failures: map[string][]time.Time{}, codes: map[string]map[string]struct{}{}, now: now}
}

// UseStep implements Store.
func (s *MemoryStore) UseStep(_ context.Context, account string, step int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, seen := s.steps[account]
	if seen && step <= last {
		return false, nil
	}
	s.steps[account] = step
	return true, nil
}

func (s *MemoryStore) recent(account string, window time.Duration) []time.Time {
	cut := s.now().Add(-window)
	list := s.failures[account]
	i := 0
	for i < len(list) && !list[i].After(cut) {
		i++
	}
	list = list[i:]
	s.failures[account] = list
	return list
}

// AddFailure implements Store.
func (s *MemoryStore) AddFailure(_ context.Context, account string, window time.Duration) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := append(s.recent(account, window), s.now())
	s.failures[account] = list
	return len(list), nil
}

// Failures implements Store.
func (s *MemoryStore) Failures(_ context.Context, account string, window time.Duration) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recent(account, window)), nil
}

// ResetFailures implements Store.
func (s *MemoryStore) ResetFailures(_ context.Context, account string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.failures, account)
	return nil
}

// SetRecoveryCodes replaces the account's recovery code hashes.
func (s *MemoryStore) SetRecoveryCodes(account string, hashes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]struct{}, len(hashes))
	for _, h := range hashes {
		m[h] = struct{}{}
	}
	s.codes[account] = m
}

// ConsumeRecoveryCode implements RecoveryStore.
func (s *MemoryStore) ConsumeRecoveryCode(_ context.Context, account, hash string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.codes[account][hash]; !ok {
		return false, nil
	}
	delete(s.codes[account], hash)
	return true, nil
}
