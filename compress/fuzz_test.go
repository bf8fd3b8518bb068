package compress

import (
	"net/http"
	"testing"
)

// FuzzSensitive: no Cache-Control value panics the check, and a value that
// carries a no-store or private directive anywhere is always sensitive.
func FuzzSensitive(f *testing.F) {
	for _, s := range []string{"", "no-store", "max-age=0, private", `private="Set-Cookie", no-cache`, ",,,", "NO-STORE ,", "public"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		_ = sensitive(http.Header{"Cache-Control": {v}})
		for _, d := range []string{"no-store", "Private", `private="x"`} {
			if !sensitive(http.Header{"Cache-Control": {v + "," + d}}) {
				t.Fatalf("%q with %q appended is not sensitive", v, d)
			}
			if !sensitive(http.Header{"Cache-Control": {d + "," + v}}) {
				t.Fatalf("%q with %q in front is not sensitive", v, d)
			}
		}
	})
}
