package authn

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"runtime"
	"strconv"
	"strings"

	"github.com/covetgo/covet/errs"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// MaxPasswordSize is the longest password Passwords accepts: longer input
// is refused before any hashing, so a request cannot buy expensive work.
const MaxPasswordSize = 1 << 10

// The password errors.
var (
	// ErrPasswordTooLong: the password is over MaxPasswordSize bytes, or
	// over bcrypt's 72 bytes when checked against a bcrypt hash (bcrypt
	// would silently ignore the rest). 400, code "password_too_long".
	ErrPasswordTooLong = errs.New(errs.KindBadRequest, "password_too_long", "The password is too long.")
	// ErrMalformedHash: a stored hash cannot be parsed (500: a data bug,
	// not the caller's fault).
	ErrMalformedHash = errs.New(errs.KindInternal, "malformed_password_hash", "")
)

// PasswordOptions configure Passwords. Zero values are OWASP's recommended
// Argon2id parameters (19 MiB, 2 iterations, 1 lane).
type PasswordOptions struct {
	// Memory is Argon2id's memory in KiB. Zero: 19456 (19 MiB). At least
	// 19456, at most 1 GiB.
	Memory uint32
	// Iterations is Argon2id's time cost. Zero: 2.
	Iterations uint32
	// Parallelism is Argon2id's lanes. Zero: 1.
	Parallelism uint8
	// MaxConcurrent bounds how many hashes are computed at once (each
	// takes Memory KiB). Zero: GOMAXPROCS. Callers beyond it wait, or give
	// up when their context ends.
	MaxConcurrent int
}

// Passwords hashes and verifies passwords. New hashes are Argon2id in PHC
// string format ($argon2id$v=19$m=19456,t=2,p=1$salt$hash); bcrypt hashes
// ($2a$, $2b$, $2y$) are verified for accounts migrated from older systems,
// and NeedsRehash tells when to upgrade them.
type Passwords struct {
	m, t  uint32
	p     uint8
	sem   chan struct{}
	dummy string
}

const (
	argonSaltLen = 16
	argonKeyLen  = 32
)

// NewPasswords validates opts and returns a Passwords.
func NewPasswords(opts PasswordOptions) (*Passwords, error) {
	p := &Passwords{m: opts.Memory, t: opts.Iterations, p: opts.Parallelism}
	if p.m == 0 {
		p.m = 19456
	}
	if p.t == 0 {
		p.t = 2
	}
	if p.p == 0 {
		p.p = 1
	}
	if p.m < 19456 || p.m > 1<<20 {
		return nil, errs.Configf("authn: PasswordOptions.Memory %d KiB is outside 19456..1048576", p.m)
	}
	if p.t > 100 {
		return nil, errs.Configf("authn: PasswordOptions.Iterations %d is above 100", p.t)
	}
	if opts.MaxConcurrent < 0 {
		return nil, errs.Configf("authn: PasswordOptions.MaxConcurrent is negative")
	}
	n := opts.MaxConcurrent
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p.sem = make(chan struct{}, n)
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt)
	p.dummy = p.encode(salt, argon2.IDKey([]byte("covet-dummy-password"), salt, p.t, p.m, p.p, argonKeyLen))
	return p, nil
}

func (p *Passwords) acquire(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return errs.From(ctx.Err())
	}
}

func (p *Passwords) release() { <-p.sem }

func (p *Passwords) encode(salt, key []byte) string {
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

// Hash returns the Argon2id PHC string of password. Passwords over
// MaxPasswordSize bytes are refused with ErrPasswordTooLong. It waits for a
// slot when MaxConcurrent hashes are running.
func (p *Passwords) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordSize {
		return "", ErrPasswordTooLong
	}
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer p.release()
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", errs.Wrap(err, errs.KindInternal, "", "")
	}
	return p.encode(salt, argon2.IDKey([]byte(password), salt, p.t, p.m, p.p, argonKeyLen)), nil
}

// argonParams is a parsed Argon2id PHC string.
type argonParams struct {
	m, t      uint32
	p         uint8
	salt, key []byte
}

func parseArgon2id(s string) (argonParams, error) {
	var a argonParams
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v=19" {
		return a, ErrMalformedHash
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return a, ErrMalformedHash
	}
	vals := [3]uint64{}
	for i, name := range [3]string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return a, ErrMalformedHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return a, ErrMalformedHash
		}
		vals[i] = n
	}
	// Bounds keep a corrupted or hostile stored hash from costing
	// unbounded memory or time.
	if vals[0] < 8 || vals[0] > 1<<20 || vals[1] < 1 || vals[1] > 100 || vals[2] < 1 || vals[2] > 64 {
		return a, ErrMalformedHash
	}
	a.m, a.t, a.p = uint32(vals[0]), uint32(vals[1]), uint8(vals[2])
	var err error
	if a.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(a.salt) < 8 || len(a.salt) > 64 {
		return a, ErrMalformedHash
	}
	if a.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(a.key) < 16 || len(a.key) > 128 {
		return a, ErrMalformedHash
	}
	return a, nil
}

// Verify reports whether password matches hash (Argon2id PHC or bcrypt).
// A wrong password is (false, nil). Pass hash "" for an unknown account:
// Verify then checks against a dummy hash with the current parameters and
// returns false, so the response takes as long as for a real account.
// Errors: ErrPasswordTooLong (over MaxPasswordSize, or over 72 bytes for a
// bcrypt hash), ErrMalformedHash, or the context's error while waiting.
func (p *Passwords) Verify(ctx context.Context, hash, password string) (bool, error) {
	if len(password) > MaxPasswordSize {
		return false, ErrPasswordTooLong
	}
	unknown := hash == ""
	if unknown {
		hash = p.dummy
	}
	if isBcrypt(hash) {
		if len(password) > 72 {
			return false, ErrPasswordTooLong
		}
		if err := p.acquire(ctx); err != nil {
			return false, err
		}
		defer p.release()
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		}
		return false, ErrMalformedHash.WithCause(err)
	}
	a, err := parseArgon2id(hash)
	if err != nil {
		return false, err
	}
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	defer p.release()
	got := argon2.IDKey([]byte(password), a.salt, a.t, a.m, a.p, uint32(len(a.key)))
	match := subtle.ConstantTimeCompare(got, a.key) == 1
	return match && !unknown, nil
}

func isBcrypt(h string) bool {
	return strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$")
}

// NeedsRehash reports whether hash should be replaced by Hash's output after
// the next successful Verify: it is bcrypt, malformed, or Argon2id with
// other parameters than the current ones.
func (p *Passwords) NeedsRehash(hash string) bool {
	a, err := parseArgon2id(hash)
	if err != nil {
		return true
	}
	return a.m != p.m || a.t != p.t || a.p != p.p || len(a.salt) < argonSaltLen || len(a.key) != argonKeyLen
}
