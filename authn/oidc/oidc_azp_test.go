package oidc

import (
	"testing"

	"github.com/covetgo/covet/authn"
)

// TestOIDCAuthorizedParty: an ID token with several audiences, or with an
// azp claim, is accepted only when azp names this client.
func TestOIDCAuthorizedParty(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	o := newTestOIDC(t, p)
	for _, tc := range []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"one audience, no azp", nil, true},
		{"one audience, azp is this client", map[string]any{"azp": testClientID}, true},
		{"several audiences, azp is this client", map[string]any{"aud": []string{testClientID, "other"}, "azp": testClientID}, true},
		{"several audiences, no azp", map[string]any{"aud": []string{testClientID, "other"}}, false},
		{"several audiences, azp is another client", map[string]any{"aud": []string{testClientID, "other"}, "azp": "other"}, false},
		{"one audience, azp is another client", map[string]any{"azp": "other"}, false},
		{"azp spelled AZP", map[string]any{"aud": []string{testClientID, "other"}, "AZP": testClientID}, false},
		{"azp not a string", map[string]any{"azp": []string{testClientID}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.mu.Lock()
			p.claims = tc.claims
			p.mu.Unlock()
			authURL, cookie := startLogin(t, o, "")
			code, state := p.authorize(t, authURL, "alice")
			pr, _, err := callback(o, "code="+code+"&state="+state, cookie)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v (%s)", err, authn.Reason(err))
			}
			if !tc.ok && (err == nil || authn.Reason(err) != "bad_azp") {
				t.Fatalf("accepted: %+v, %v (%s)", pr, err, authn.Reason(err))
			}
		})
	}
}
