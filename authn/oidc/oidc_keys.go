package oidc

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"

	authnjwt "github.com/covetgo/covet/authn/jwt"
	"github.com/covetgo/covet/errs"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/golang-jwt/jwt/v5"
)

// oidcKeySet checks ID token signatures for go-oidc with this package's
// JWKS client, so an OIDC login gets the same key rules as a JWT
// verifier: https only, a size limit on the key set, RSA keys of at least
// 2048 bits, each key bound to one algorithm.
type oidcKeySet struct{ keys authnjwt.KeySet }

// VerifySignature implements gooidc.KeySet.
func (s oidcKeySet) VerifySignature(ctx context.Context, token string) ([]byte, error) {
	if len(token) > authnjwt.MaxTokenSize {
		return nil, errors.New("authn: ID token too long")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("authn: ID token is not a compact JWS")
	}
	rawHeader, err1 := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	payload, err2 := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, errors.New("authn: ID token is not base64url")
	}
	// Names are matched exactly and a repeated one is refused.
	var h struct {
		Alg  string `json:"alg"`
		Kid  string `json:"kid"`
		Crit any    `json:"crit"`
	}
	if err := jsonv2.Unmarshal(rawHeader, &h); err != nil {
		return nil, err
	}
	if h.Crit != nil {
		return nil, errors.New("authn: ID token has a critical header extension")
	}
	key, err := s.keys.VerificationKey(ctx, h.Kid)
	if err != nil {
		return nil, err
	}
	method := jwt.GetSigningMethod(h.Alg)
	if method == nil || key.Algorithm != h.Alg {
		return nil, errors.New("authn: ID token algorithm does not match its key")
	}
	if err := method.Verify(parts[0]+"."+parts[1], sig, key.Key); err != nil {
		return nil, err
	}
	return payload, nil
}

// oidcSignatureAlgs are the ID token algorithms this package can check.
var oidcSignatureAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// discoveredKeys reads the provider's key set location and algorithms
// from its discovery document and returns a JWKS client for them. Every
// endpoint the login uses must be https.
func discoveredKeys(meta providerMetadata, authURL, tokenURL string, opts Options) (*authnjwt.JWKS, []string, error) {
	for name, raw := range map[string]string{"jwks_uri": meta.JWKSURI, "authorization_endpoint": authURL, "token_endpoint": tokenURL} {
		if u, err := url.Parse(raw); err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, nil, errs.Configf("authn: OIDC discovery for %s: %s %q is not an https URL", opts.Issuer, name, raw)
		}
	}
	u, _ := url.Parse(meta.JWKSURI)
	jwks, err := authnjwt.NewJWKS(authnjwt.JWKSOptions{URL: meta.JWKSURI, AllowedHosts: []string{u.Hostname()}, Client: opts.Client})
	if err != nil {
		return nil, nil, err
	}
	var algs []string
	for _, a := range meta.Algs {
		if slices.Contains(oidcSignatureAlgs, a) && !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = []string{"RS256"} // the one algorithm OpenID Connect requires
	}
	return jwks, algs, nil
}

// providerMetadata is what New reads from the discovery document
// beyond what go-oidc exposes.
type providerMetadata struct {
	JWKSURI string   `json:"jwks_uri"`
	Algs    []string `json:"id_token_signing_alg_values_supported"`
}
