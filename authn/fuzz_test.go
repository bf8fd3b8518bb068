package authn

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c", "Bearer ", "Bearer", "Basic x", "Bearer a=b", "Bearer ===", "BEARER  x==", "Bearer\x00x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{"Authorization": {v}}
		tok, ok, err := ParseBearer(h)
		if err != nil {
			if ok || tok != "" || !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v with ok=%v tok=%q", err, ok, tok)
			}
			return
		}
		if ok {
			if tok == "" || !validB64Token(tok) || !strings.HasSuffix(v, tok) {
				t.Fatalf("token %q from %q", tok, v)
			}
			if !equalFoldASCII(v[:6], "bearer") {
				t.Fatalf("accepted scheme of %q", v)
			}
		}
	})
}
