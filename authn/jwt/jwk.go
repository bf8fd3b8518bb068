package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
)

// JWK is one JSON Web Key (RFC 7517) as this package reads and writes it:
// public signature keys only. A key set's handler (the issuer's JWKS
// endpoint) encodes its keys with PublicJWK.
type JWK struct {
	// The members, by their RFC 7517 and RFC 7518 names.
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	// Private or symmetric members: their presence makes the key refused.
	D string `json:"d,omitempty"`
	K string `json:"k,omitempty"`
}

type jwkSet struct {
	Keys []json.RawMessage `json:"keys"`
}

var b64u = base64.RawURLEncoding

// PublicJWK encodes k's public key (Ed25519, ECDSA or RSA) as a JWK with
// use "sig"; other key types are an error.
func PublicJWK(k Key) (JWK, error) {
	j := JWK{Kid: k.ID, Alg: k.Algorithm, Use: "sig"}
	switch pk := k.Key.(type) {
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64u.EncodeToString(pk)
	case *ecdsa.PublicKey:
		raw, err := pk.Bytes() // 0x04 || X || Y
		if err != nil {
			return j, err
		}
		n := (len(raw) - 1) / 2
		j.Kty, j.Crv = "EC", pk.Curve.Params().Name
		j.X, j.Y = b64u.EncodeToString(raw[1:1+n]), b64u.EncodeToString(raw[1+n:])
	case *rsa.PublicKey:
		j.Kty = "RSA"
		j.N = b64u.EncodeToString(pk.N.Bytes())
		j.E = b64u.EncodeToString(big.NewInt(int64(pk.E)).Bytes())
	default:
		return j, errors.New("unsupported key type")
	}
	return j, nil
}

// ParseJWK decodes one public signature key (one member of a JWK Set). The key must name its
// algorithm ("alg"), which must suit its type; private and symmetric keys,
// keys for encryption, and keys without an ID are refused.
func ParseJWK(raw []byte) (Key, error) {
	var j JWK
	if err := json.Unmarshal(raw, &j); err != nil {
		return Key{}, err
	}
	if j.D != "" || j.K != "" || j.Kty == "oct" {
		return Key{}, errors.New("private or symmetric key in a key set")
	}
	if j.Use != "" && j.Use != "sig" {
		return Key{}, errors.New("key is not for signatures")
	}
	if j.Kid == "" {
		return Key{}, errors.New("key without kid")
	}
	k := Key{ID: j.Kid, Algorithm: j.Alg}
	var def string
	var err error
	switch j.Kty {
	case "OKP":
		k.Key, def, err = okpKey(j)
	case "EC":
		k.Key, def, err = ecKey(j)
	case "RSA":
		k.Key, def, err = rsaKey(j)
	default:
		err = errors.New("unsupported key type")
	}
	if err != nil {
		return Key{}, err
	}
	if k.Algorithm == "" {
		k.Algorithm = def
	}
	if err := checkKey(k); err != nil {
		return Key{}, err
	}
	return k, nil
}

// okpKey decodes an Ed25519 key; its default algorithm is EdDSA.
func okpKey(j JWK) (any, string, error) {
	if j.Crv != "Ed25519" {
		return nil, "", errors.New("unsupported OKP curve")
	}
	x, err := b64u.DecodeString(j.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, "", errors.New("bad Ed25519 key")
	}
	return ed25519.PublicKey(x), "EdDSA", nil
}

// ecCurves are the JWK curves ECDSA keys may use, with their algorithms.
var ecCurves = map[string]struct {
	curve func() elliptic.Curve
	alg   string
}{
	"P-256": {elliptic.P256, "ES256"},
	"P-384": {elliptic.P384, "ES384"},
	"P-521": {elliptic.P521, "ES512"},
}

// ecKey decodes an ECDSA key on P-256, P-384 or P-521; its default
// algorithm is the curve's. The parser checks that the point is on the
// curve.
func ecKey(j JWK) (any, string, error) {
	c, ok := ecCurves[j.Crv]
	if !ok {
		return nil, "", errors.New("unsupported EC curve")
	}
	curve := c.curve()
	x, err1 := b64u.DecodeString(j.X)
	y, err2 := b64u.DecodeString(j.Y)
	size := (curve.Params().BitSize + 7) / 8
	if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
		return nil, "", errors.New("bad EC key")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, "", err
	}
	return pub, c.alg, nil
}

// rsaKey decodes an RSA key with an odd public exponent of at least 3;
// its default algorithm is RS256, what providers that omit "alg" use in
// practice.
func rsaKey(j JWK) (any, string, error) {
	n, err1 := b64u.DecodeString(j.N)
	e, err2 := b64u.DecodeString(j.E)
	if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 || len(n) > 1024 {
		return nil, "", errors.New("bad RSA key")
	}
	ev := new(big.Int).SetBytes(e)
	if ev.Int64() < 3 || ev.Bit(0) == 0 {
		return nil, "", errors.New("bad RSA exponent")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ev.Int64())}, "RS256", nil
}
