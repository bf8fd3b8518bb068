package oidc

import (
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/covetgo/covet/internal/redirect/redirecttest"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/oidc_return_locations.json")

// returnLocation is one distinct answer of Callback to a login that began
// with From as its return path.
type returnLocation struct {
	From     string `json:"from"`
	Location string `json:"location"`
}

// TestOIDCReturnLocations logs in with every corpus return path and pins
// each distinct Location that Callback answers with in
// testdata/oidc_return_locations.json. A browser test in the examples module
// (examples/oidcbrowser) follows every pinned Location in headless Chromium
// and checks the browser stays on the application's origin; this test makes
// sure the file it reads is what the code gives today (go test -run
// TestOIDCReturnLocations -update ./authn rewrites it).
func TestOIDCReturnLocations(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	o := newTestOIDC(t, p)
	var got []returnLocation
	seen := map[string]bool{}
	for _, target := range redirecttest.Corpus() {
		ret := loginReturn(t, p, o, target)
		if ret == "" {
			ret = "/home"
		}
		if !seen[ret] {
			seen[ret] = true
			got = append(got, returnLocation{From: target, Location: ret})
		}
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	const file = "testdata/oidc_return_locations.json"
	if *updateGolden {
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(b) {
		t.Fatalf("the Locations Callback answers differ from %s: run go test -run TestOIDCReturnLocations -update ./authn and the browser test in examples/oidcbrowser", file)
	}
	t.Logf("%d distinct return locations", len(got))
}
