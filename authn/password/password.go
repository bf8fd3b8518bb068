package password

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/covetgo/covet/errs"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// MaxSize is the longest password Hasher accepts: longer input
// is refused before any hashing, so a request cannot buy expensive work.
const MaxSize = 1 << 10

// The password errors.
var (
	// ErrTooLong: the password is over MaxSize bytes (400,
	// code "password_too_long"). Every kind of account gives this answer
	// at the same length, before any hashing.
	ErrTooLong = errs.New(errs.KindBadRequest, "password_too_long", "The password is too long.")
	// ErrMalformedHash: a stored hash cannot be parsed, or asks for more
	// work than the configured parameters allow (500: a data bug or a
	// tampered record, not the caller's fault).
	ErrMalformedHash = errs.New(errs.KindInternal, "malformed_password_hash", "")
	// ErrBusy: more password checks are waiting than MaxQueue
	// allows (503, code "password_busy", with Retry-After).
	ErrBusy = errs.New(errs.KindServiceUnavailable, "password_busy", "Too many sign-ins at once; try again shortly.").WithHeader("Retry-After", "1")
)

// Stored hashes may ask for at most this multiple of the configured
// Argon2id memory, iterations and lanes; beyond that they are refused as
// malformed, so a tampered or imported record cannot stall logins.
const argonMaxFactor = 4

// Absolute bounds on what a stored Argon2id hash, and so the
// configuration, may ask for.
const (
	argonMaxMemory      = 1 << 20 // KiB: 1 GiB
	argonMaxIterations  = 100
	argonMaxParallelism = 64
)

// OWASP's Argon2id minimums (Password Storage Cheat Sheet): 46 MiB with one
// iteration, or 19 MiB with two; this package does not go below 19 MiB.
const (
	owaspMinMemory          = 19456 // KiB, with owaspMinIterations
	owaspMinIterations      = 2
	owaspOneIterationMemory = 47104 // KiB: 46 MiB allows one iteration
)

// DefaultBcryptMaxCost is the highest bcrypt cost Verify accepts by default.
const DefaultBcryptMaxCost = 12

// Options configure Hasher. Zero values are OWASP's recommended
// Argon2id parameters (19 MiB, 2 iterations, 1 lane).
type Options struct {
	// Memory is Argon2id's memory in KiB. Zero: 19456 (19 MiB). At least
	// 19456, at most 1 GiB.
	Memory uint32
	// Iterations is Argon2id's time cost. Zero: 2. At most 100; one
	// iteration needs at least 47104 KiB (46 MiB) of Memory, OWASP's
	// minimum for t=1.
	Iterations uint32
	// Parallelism is Argon2id's lanes. Zero: 1. At most 64.
	Parallelism uint8
	// BcryptMaxCost is the highest cost a stored bcrypt hash may have;
	// each step doubles the work. Zero: DefaultBcryptMaxCost (12). At
	// most 16.
	BcryptMaxCost int
	// MaxConcurrent bounds how many hashes are computed at once (each
	// takes Memory KiB). Zero: GOMAXPROCS.
	MaxConcurrent int
	// MaxQueue bounds how many callers may wait for a slot; callers past
	// it get ErrBusy at once. Zero: 8 × MaxConcurrent. Callers
	// that wait give up when their context ends.
	MaxQueue int
}

// Hasher hashes and verifies passwords. New hashes are Argon2id in PHC
// string format ($argon2id$v=19$m=19456,t=2,p=1$salt$hash); bcrypt hashes
// ($2a$, $2b$, $2y$) are verified for accounts migrated from older systems,
// and NeedsRehash tells when to upgrade them.
//
// Stored hashes are bounded: Argon2id memory, iterations and lanes at most
// four times the configured ones, bcrypt cost at most BcryptMaxCost; a hash
// past these is ErrMalformedHash without any hashing.
//
// Every kind of account answers alike. A password over bcrypt's 72 bytes
// checked against a bcrypt hash is a wrong password (it cannot match: bcrypt
// would ignore the rest), found after the same bcrypt work as any other; an
// unknown account (hash "") costs an Argon2id hash with the current
// parameters. And Verify pads its answer to the slowest kind of check it
// has recently timed (a moving average per kind), so a bcrypt account, an
// Argon2id account and an unknown account take about as long.
type Hasher struct {
	m, t       uint32
	p          uint8
	bcryptMax  int
	sem        chan struct{}
	maxWaiting int64
	waiting    atomic.Int64
	dummy      string
	// Moving averages, in nanoseconds, of the Argon2id and bcrypt checks.
	argonNS, bcryptNS atomic.Int64
}

const (
	argonSaltLen = 16
	argonKeyLen  = 32
)

// New validates opts and returns a Hasher.
func New(opts Options) (*Hasher, error) {
	p := &Hasher{
		m:         cmp.Or(opts.Memory, owaspMinMemory),
		t:         cmp.Or(opts.Iterations, owaspMinIterations),
		p:         cmp.Or(opts.Parallelism, 1),
		bcryptMax: cmp.Or(opts.BcryptMaxCost, DefaultBcryptMaxCost),
	}
	if err := p.checkCosts(); err != nil {
		return nil, err
	}
	if opts.MaxConcurrent < 0 || opts.MaxQueue < 0 {
		return nil, errs.Configf("password: Options.MaxConcurrent or MaxQueue is negative")
	}
	n := cmp.Or(opts.MaxConcurrent, runtime.GOMAXPROCS(0))
	p.sem = make(chan struct{}, n)
	p.maxWaiting = cmp.Or(int64(opts.MaxQueue), 8*int64(n))
	if err := p.makeDummy(); err != nil {
		return nil, err
	}
	return p, nil
}

// checkCosts refuses Argon2id parameters below OWASP's minimums or above
// the bounds the parser accepts, and a bcrypt cost outside MinCost..16.
func (p *Hasher) checkCosts() error {
	if p.m < owaspMinMemory || p.m > argonMaxMemory {
		return errs.Configf("password: Options.Memory %d KiB is outside %d..%d", p.m, owaspMinMemory, argonMaxMemory)
	}
	if p.t > argonMaxIterations {
		return errs.Configf("password: Options.Iterations %d is above %d", p.t, argonMaxIterations)
	}
	if p.t < owaspMinIterations && p.m < owaspOneIterationMemory {
		return errs.Configf("password: Options: %d iteration(s) needs at least %d KiB of Memory (OWASP), not %d", p.t, owaspOneIterationMemory, p.m)
	}
	if p.p > argonMaxParallelism {
		return errs.Configf("password: Options.Parallelism %d is above %d", p.p, argonMaxParallelism)
	}
	if p.bcryptMax < bcrypt.MinCost || p.bcryptMax > 16 {
		return errs.Configf("password: Options.BcryptMaxCost %d is outside %d..16", p.bcryptMax, bcrypt.MinCost)
	}
	return nil
}

// makeDummy hashes a fixed password with the current parameters, the hash
// an unknown account is checked against, and times it as the first
// Argon2id sample.
func (p *Hasher) makeDummy() error {
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt)
	start := time.Now()
	p.dummy = p.encode(salt, argon2.IDKey([]byte("covet-dummy-password"), salt, p.t, p.m, p.p, argonKeyLen))
	p.argonNS.Store(int64(time.Since(start)))
	if _, err := parseArgon2id(p.dummy, p); err != nil {
		// The parser must accept what Hash makes, or nobody could log in.
		return errs.Configf("password: Options make hashes the parser refuses: %v", err)
	}
	return nil
}

// acquire takes a hashing slot, waiting while at most maxWaiting others
// wait; past that it fails at once with ErrBusy.
func (p *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return errs.From(err)
	}
	select {
	case p.sem <- struct{}{}:
		return nil
	default:
	}
	if p.waiting.Add(1) > p.maxWaiting {
		p.waiting.Add(-1)
		return ErrBusy
	}
	defer p.waiting.Add(-1)
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return errs.From(ctx.Err())
	}
}

func (p *Hasher) release() { <-p.sem }

// run computes f in a hashing slot. It returns when f is done or when ctx
// ends; in the latter case f finishes in the background, still holding its
// slot, so abandoned work stays bounded by MaxConcurrent.
func (p *Hasher) run(ctx context.Context, f func()) error {
	if err := p.acquire(ctx); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer p.release()
		f()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errs.From(ctx.Err())
	}
}

func (p *Hasher) encode(salt, key []byte) string {
	var b strings.Builder
	b.WriteString("$argon2id$v=19$m=")
	b.WriteString(strconv.FormatUint(uint64(p.m), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(p.t), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(p.p), 10))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(key))
	return b.String()
}

// Hash returns the Argon2id PHC string of password. Hasher over
// MaxSize bytes are refused with ErrTooLong. It waits for a
// slot when MaxConcurrent hashes are running (ErrBusy past
// MaxQueue waiting callers) and returns when ctx ends.
func (p *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxSize {
		return "", ErrTooLong
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", errs.Wrap(err, errs.KindInternal, "", "")
	}
	var key []byte
	if err := p.run(ctx, func() { key = argon2.IDKey([]byte(password), salt, p.t, p.m, p.p, argonKeyLen) }); err != nil {
		return "", err
	}
	return p.encode(salt, key), nil
}

// argonParams is a parsed Argon2id PHC string.
type argonParams struct {
	m, t      uint32
	p         uint8
	salt, key []byte
}

// parseArgon2id parses s; with cfg non-nil it also refuses parameters past
// argonMaxFactor times cfg's.
func parseArgon2id(s string, cfg *Hasher) (argonParams, error) {
	var a argonParams
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v=19" {
		return a, ErrMalformedHash
	}
	vals, ok := parseArgonCosts(parts[3])
	// Bounds keep a corrupted or hostile stored hash from costing
	// unbounded memory or time.
	if !ok || !argonCostsInBounds(vals) || (cfg != nil && !cfg.allowsCosts(vals)) {
		return a, ErrMalformedHash
	}
	a.m, a.t, a.p = uint32(vals[0]), uint32(vals[1]), uint8(vals[2])
	if a.salt, ok = decodeArgonField(parts[4], 8, 64); !ok {
		return a, ErrMalformedHash
	}
	if a.key, ok = decodeArgonField(parts[5], 16, 128); !ok {
		return a, ErrMalformedHash
	}
	return a, nil
}

// parseArgonCosts parses "m=..,t=..,p=.." (in that order) into m, t, p.
func parseArgonCosts(field string) (vals [3]uint64, ok bool) {
	params := strings.Split(field, ",")
	if len(params) != 3 {
		return vals, false
	}
	for i, name := range [3]string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return vals, false
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return vals, false
		}
		vals[i] = n
	}
	return vals, true
}

// argonCostsInBounds reports whether m, t and p are within what any
// Hasher would accept.
func argonCostsInBounds(v [3]uint64) bool {
	return v[0] >= 8 && v[0] <= argonMaxMemory &&
		v[1] >= 1 && v[1] <= argonMaxIterations &&
		v[2] >= 1 && v[2] <= argonMaxParallelism
}

// allowsCosts reports whether m, t and p are each at most argonMaxFactor
// times p's own.
func (p *Hasher) allowsCosts(v [3]uint64) bool {
	return v[0] <= argonMaxFactor*uint64(p.m) && v[1] <= argonMaxFactor*uint64(p.t) && v[2] <= argonMaxFactor*uint64(p.p)
}

// decodeArgonField decodes a salt or key field (strict unpadded standard
// base64) and checks that it is minLen..maxLen bytes long.
func decodeArgonField(s string, minLen, maxLen int) ([]byte, bool) {
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) < minLen || len(b) > maxLen {
		return nil, false
	}
	return b, true
}

// Verify reports whether password matches hash (Argon2id PHC or bcrypt).
// A wrong password is (false, nil). Pass hash "" for an unknown account:
// Verify then checks against a dummy hash with the current parameters and
// returns false, so the response takes as long as for a real account.
// A password over 72 bytes against a bcrypt hash is a wrong password.
// Errors: ErrTooLong (over MaxSize), ErrMalformedHash
// (unparsable, or past the bounds described on Hasher),
// ErrBusy, or the context's error: Verify returns when ctx ends,
// even in the middle of a hash.
func (p *Hasher) Verify(ctx context.Context, hash, password string) (bool, error) {
	if len(password) > MaxSize {
		return false, ErrTooLong
	}
	unknown := hash == ""
	if unknown {
		hash = p.dummy
	}
	start := time.Now()
	var ok bool
	var avg *atomic.Int64
	if isBcrypt(hash) {
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil || cost > p.bcryptMax {
			return false, ErrMalformedHash.WithCause(err)
		}
		// bcrypt reads 72 bytes at most: a longer password cannot be the
		// one stored, but it gets the same work and answer as any other
		// wrong password.
		pw, tooLong := []byte(password), len(password) > 72
		if tooLong {
			pw = pw[:72]
		}
		var cmpErr error
		if err := p.run(ctx, func() { cmpErr = bcrypt.CompareHashAndPassword([]byte(hash), pw) }); err != nil {
			return false, err
		}
		switch {
		case cmpErr == nil:
			ok = !tooLong
		case errors.Is(cmpErr, bcrypt.ErrMismatchedHashAndPassword):
		default:
			return false, ErrMalformedHash.WithCause(cmpErr)
		}
		avg = &p.bcryptNS
	} else {
		a, err := parseArgon2id(hash, p)
		if err != nil {
			return false, err
		}
		var got []byte
		if err := p.run(ctx, func() { got = argon2.IDKey([]byte(password), a.salt, a.t, a.m, a.p, uint32(len(a.key))) }); err != nil {
			return false, err
		}
		ok = subtle.ConstantTimeCompare(got, a.key) == 1 && !unknown
		avg = &p.argonNS
	}
	if err := p.pad(ctx, avg, time.Since(start)); err != nil {
		return false, err
	}
	return ok, nil
}

// pad records took in the moving average avg, then waits (outside any
// hashing slot) until the check has taken as long as the slowest kind's
// average.
func (p *Hasher) pad(ctx context.Context, avg *atomic.Int64, took time.Duration) error {
	old := avg.Load()
	next := int64(took)
	if old != 0 {
		next = old + (int64(took)-old)/8
	}
	avg.CompareAndSwap(old, next) // a lost race only skips one sample
	target := time.Duration(max(p.argonNS.Load(), p.bcryptNS.Load()))
	wait := target - took
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return errs.From(ctx.Err())
	}
}

func isBcrypt(h string) bool {
	return strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$")
}

// NeedsRehash reports whether hash should be replaced by Hash's output after
// the next successful Verify: it is bcrypt, malformed, or Argon2id with
// other parameters than the current ones.
func (p *Hasher) NeedsRehash(hash string) bool {
	a, err := parseArgon2id(hash, p)
	if err != nil {
		return true
	}
	return a.m != p.m || a.t != p.t || a.p != p.p || len(a.salt) < argonSaltLen || len(a.key) != argonKeyLen
}
