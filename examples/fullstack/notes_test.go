package main

import (
	"strings"
	"testing"
)

// TestNoteHTMLIsForStrangers: note bodies come from anyone who registers,
// so they get the policy for untrusted content: no id attributes (which
// would clobber the page's #status and #notes lookups), no image maps and
// no images from elsewhere (tracking pixels).
func TestNoteHTMLIsForStrangers(t *testing.T) {
	t.Parallel()
	a := &app{}
	if err := a.buildInput(); err != nil {
		t.Fatal(err)
	}
	in := `<div id="status">x</div><img src="https://tracker.example/p.png"><map name="m"><area href="/x"></map><p><b>kept</b> <a href="https://example.com">link</a></p>`
	out, err := a.html.Sanitize(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"id=", "<img", "<map", "<area", "tracker"} {
		if strings.Contains(out, bad) {
			t.Errorf("sanitized body keeps %q: %s", bad, out)
		}
	}
	for _, good := range []string{"<b>kept</b>", `href="https://example.com"`} {
		if !strings.Contains(out, good) {
			t.Errorf("sanitized body lost %q: %s", good, out)
		}
	}
}
