package jwt

import (
	"errors"
	"testing"

	"github.com/covetgo/covet/authn"
	gojwt "github.com/golang-jwt/jwt/v5"
)

// encoding/json fills a field from a member whose name differs only in
// case, the last one winning, so the duplicate and NumericDate checks
// compare names the same way.
func TestPayloadNamesComparedIgnoringCase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		payload string
		want    error
	}{
		{`{"sub":"alice","SUB":"admin"}`, errDuplicateClaim},
		{`{"roles":["user"],"Roles":["admin"]}`, errDuplicateClaim},
		{`{"exp":1,"\u0045XP":2}`, errDuplicateClaim},
		{`{"sub":"a","\u212aid":"x","kid":"y"}`, errDuplicateClaim}, // Kelvin sign folds to k
		{`{"Exp":"2099-01-01"}`, errNumericDate},
		{`{"IAT":"1"}`, errNumericDate},
		{`{"sub":"alice","subject":"x","Sub2":"y"}`, nil},
		// Checked only in lower case, so other spellings are refused.
		{`{"Nbf":99999999999}`, errTimeClaimCase},
		{`{"iAt":1}`, errTimeClaimCase},
		{`{"EXP":1}`, errTimeClaimCase},
		// Dates must be exact floats that fit a time.
		{`{"exp":1e19}`, errNumericDate},
		{`{"nbf":-1e19}`, errNumericDate},
		{`{"iat":10000000000000000}`, errNumericDate},
		{`{"exp":1.5,"nbf":-1,"iat":9007199254740992}`, nil},
		// A name refused for its value before its duplicate is seen.
		{`{"Exp":1,"exp":2}`, errTimeClaimCase},
	}
	for _, tt := range tests {
		if err := checkPayload([]byte(tt.payload)); !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
			t.Errorf("%s: got %v, want %v", tt.payload, err, tt.want)
		}
	}
	// Past the small-set fast path, in the map.
	many := `{`
	for i := range 30 {
		many += `"c` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":1,`
	}
	if err := checkPayload([]byte(many + `"CAA":2}`)); !errors.Is(err, errDuplicateClaim) {
		t.Errorf("case-folded duplicate beyond 24 names: %v", err)
	}
}

// checkPayload runs the claims parser on b, for tests of its checks.
func checkPayload(b []byte) error {
	var c authn.Claims
	return parseClaims(b, &c, new([3]gojwt.NumericDate))
}

// The claims a revocation list reads are filled in the one pass: the
// session ("sid") beside jti and sub; a sid that is not a string is
// refused like any mistyped claim the verifier reads.
func TestParseClaimsSessionID(t *testing.T) {
	t.Parallel()
	var c authn.Claims
	if err := ParseClaims([]byte(`{"sub":"u","jti":"j","sid":"0123456789abcdef0123456789abcdef","client_id":"c"}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.SessionID != "0123456789abcdef0123456789abcdef" || c.Subject != "u" || c.ID != "j" || c.ClientID != "c" {
		t.Fatalf("claims %+v", c)
	}
	if err := ParseClaims([]byte(`{"sid":7}`), new(authn.Claims)); err == nil {
		t.Fatal("a numeric sid was accepted")
	}
}
