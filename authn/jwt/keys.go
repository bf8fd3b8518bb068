package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/errs"
)

// Key is a verification key bound to exactly one algorithm. A token is
// checked with the key its kid names, and only if the token's alg equals the
// key's Algorithm: alg "none", HS/RS confusion and a kid pointing at a key
// of another type all fail.
type Key struct {
	// ID is the key ID (the JWT "kid" header).
	ID string
	// Algorithm is the JWS algorithm: HS256/384/512, RS256/384/512,
	// PS256/384/512, ES256/384/512 or EdDSA.
	Algorithm string
	// Key is the verification key: []byte of at least 32 bytes for HS*,
	// *rsa.PublicKey of at least 2048 bits for RS*/PS*, *ecdsa.PublicKey
	// on the algorithm's curve for ES*, ed25519.PublicKey for EdDSA.
	Key any
}

// KeySet finds verification keys by key ID.
type KeySet interface {
	// VerificationKey returns the key whose ID is kid. kid "" asks for the
	// set's only key and fails when the set has several. A missing key is
	// an error with the reason "unknown_kid" (see Reason).
	VerificationKey(ctx context.Context, kid string) (Key, error)
}

var errUnknownKID = errors.New("no key with this kid")

// checkKey validates that k.Key suits k.Algorithm.
func checkKey(k Key) error {
	switch k.Algorithm {
	case "HS256", "HS384", "HS512":
		return checkHMACKey(k)
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return checkRSAKey(k)
	case "ES256", "ES384", "ES512":
		return checkECDSAKey(k)
	case "EdDSA":
		return checkEdDSAKey(k)
	case "", "none":
		return errs.Configf("authn: key %q: Algorithm is required (and never \"none\")", k.ID)
	default:
		return errs.Configf("authn: key %q: unsupported algorithm %q", k.ID, k.Algorithm)
	}
}

// checkHMACKey wants a []byte secret of at least 32 bytes.
func checkHMACKey(k Key) error {
	b, ok := k.Key.([]byte)
	if !ok {
		return errs.Configf("authn: key %q: %s needs a []byte secret, got %T", k.ID, k.Algorithm, k.Key)
	}
	if len(b) < 32 {
		return errs.Configf("authn: key %q: HMAC secret is %d bytes, want at least 32", k.ID, len(b))
	}
	return nil
}

// checkRSAKey wants an RSA public key of at least 2048 bits.
func checkRSAKey(k Key) error {
	pk, ok := k.Key.(*rsa.PublicKey)
	if !ok || pk == nil {
		return errs.Configf("authn: key %q: %s needs an *rsa.PublicKey, got %T", k.ID, k.Algorithm, k.Key)
	}
	if pk.N.BitLen() < 2048 {
		return errs.Configf("authn: key %q: RSA key is %d bits, want at least 2048", k.ID, pk.N.BitLen())
	}
	return nil
}

// checkECDSAKey wants an ECDSA public key on the algorithm's own curve.
func checkECDSAKey(k Key) error {
	pk, ok := k.Key.(*ecdsa.PublicKey)
	if !ok || pk == nil {
		return errs.Configf("authn: key %q: %s needs an *ecdsa.PublicKey, got %T", k.ID, k.Algorithm, k.Key)
	}
	want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[k.Algorithm]
	if pk.Curve != want {
		return errs.Configf("authn: key %q: %s needs curve %s", k.ID, k.Algorithm, want.Params().Name)
	}
	return nil
}

// checkEdDSAKey wants an Ed25519 public key.
func checkEdDSAKey(k Key) error {
	pk, ok := k.Key.(ed25519.PublicKey)
	if !ok || len(pk) != ed25519.PublicKeySize {
		return errs.Configf("authn: key %q: EdDSA needs an ed25519.PublicKey, got %T", k.ID, k.Key)
	}
	return nil
}

// StaticKeys is a fixed KeySet.
type StaticKeys struct {
	byID map[string]Key
	only *Key
}

// NewStaticKeys validates keys and returns a KeySet of them. IDs must be
// unique; an empty ID is allowed only when there is a single key.
func NewStaticKeys(keys ...Key) (*StaticKeys, error) {
	if len(keys) == 0 {
		return nil, errs.Configf("authn: NewStaticKeys needs at least one key")
	}
	s := &StaticKeys{byID: make(map[string]Key, len(keys))}
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return nil, err
		}
		if k.ID == "" && len(keys) > 1 {
			return nil, errs.Configf("authn: every key needs an ID when there are several")
		}
		if _, dup := s.byID[k.ID]; dup {
			return nil, errs.Configf("authn: duplicate key ID %q", k.ID)
		}
		s.byID[k.ID] = k
	}
	if len(keys) == 1 {
		k := keys[0]
		s.only = &k
	}
	return s, nil
}

// VerificationKey implements KeySet.
func (s *StaticKeys) VerificationKey(_ context.Context, kid string) (Key, error) {
	if kid == "" {
		if s.only != nil {
			return *s.only, nil
		}
		return Key{}, &authn.ReasonError{Reason: "missing_kid"}
	}
	if k, ok := s.byID[kid]; ok {
		return k, nil
	}
	return Key{}, &authn.ReasonError{Reason: "unknown_kid", Err: errUnknownKID}
}

// algorithms returns the algorithms of the keys.
func (s *StaticKeys) algorithms() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range s.byID {
		if !seen[k.Algorithm] {
			seen[k.Algorithm] = true
			out = append(out, k.Algorithm)
		}
	}
	return out
}
