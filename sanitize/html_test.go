package sanitize

import (
	"errors"
	"strings"
	"testing"

	"github.com/microcosm-cc/bluemonday"

	"github.com/covetgo/covet/errs"
)

func TestHTMLPresets(t *testing.T) {
	t.Parallel()
	strict, _ := NewHTML(HTMLOptions{})
	ugc, _ := NewHTML(HTMLOptions{Preset: PresetUGC})
	custom, _ := NewHTML(HTMLOptions{Policy: bluemonday.NewPolicy().AllowElements("b")})
	for _, tc := range []struct {
		name, in       string
		h              *HTML
		want           string
		mustNotContain []string
	}{
		{"strict drops tags", `<b>hi</b> <a href="x">there</a>`, strict, "hi there", nil},
		{"strict escapes", `1 < 2 & "q"`, strict, "1 &lt; 2 &amp; &#34;q&#34;", nil},
		{"ugc keeps formatting", `<p><b>bold</b></p>`, ugc, `<p><b>bold</b></p>`, nil},
		{"ugc drops script", `<p>x</p><script>alert(1)</script>`, ugc, `<p>x</p>`, nil},
		{"ugc drops event handlers", `<img src="/a.png" onerror="alert(1)">`, ugc, "", []string{"onerror"}},
		{"ugc drops javascript urls", `<a href="javascript:alert(1)">x</a>`, ugc, "", []string{"javascript"}},
		{"ugc drops entity-encoded javascript", `<a href="&#106;avascript:alert(1)">x</a>`, ugc, "", []string{"avascript"}},
		{"ugc drops svg onload", `<svg onload=alert(1)>`, ugc, "", []string{"onload", "svg"}},
		{"ugc drops style", `<style>body{}</style><p style="x:expression(alert(1))">x</p>`, ugc, "", []string{"style", "expression"}},
		{"ugc drops iframe", `<iframe src="https://evil.com"></iframe>`, ugc, "", []string{"iframe"}},
		{"ugc adds nofollow", `<a href="https://example.com">x</a>`, ugc, "", []string{`href="https://example.com">`}},
		{"mixed case script", `<ScRiPt>alert(1)</sCrIpT>`, ugc, "", []string{"alert"}},
		{"custom policy", `<b>x</b><i>y</i>`, custom, "<b>x</b>y", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.h.Sanitize(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			for _, bad := range tc.mustNotContain {
				if strings.Contains(strings.ToLower(got), strings.ToLower(bad)) {
					t.Errorf("output %q contains %q", got, bad)
				}
			}
		})
	}
}

// pathological are input shapes whose cost grows with the number of tags or
// of attributes per tag.
func pathological(n int) map[string]string {
	return map[string]string{
		"nested tags":      strings.Repeat("<b>", n/3),
		"many attributes":  "<a " + strings.Repeat("x=1 ", n/4) + ">",
		"many images":      strings.Repeat("<img src=x>", n/11),
		"many links":       strings.Repeat("<a href='http://x.com/'>x</a>", n/29),
		"lone brackets":    strings.Repeat("<", n),
		"unclosed comment": "<!--" + strings.Repeat("<b>", n/3),
		"tables":           strings.Repeat("<table><tr><td>", n/15),
	}
}

func TestHTMLLimits(t *testing.T) {
	t.Parallel()
	h, _ := NewHTML(HTMLOptions{Preset: PresetUGC, MaxBytes: 1 << 20})
	for name, in := range pathological(500_000) {
		t.Run(name, func(t *testing.T) {
			_, err := h.Sanitize(in)
			if !errors.Is(err, ErrHTMLTooComplex) {
				t.Fatalf("err = %v, want too complex", err)
			}
		})
	}
	small, _ := NewHTML(HTMLOptions{MaxBytes: 100})
	if _, err := small.Sanitize(strings.Repeat("a", 101)); !errors.Is(err, ErrHTMLTooLarge) {
		t.Errorf("oversized: %v", err)
	}
	if _, err := h.Sanitize("<p " + strings.Repeat(`title="a b c d e f" `, 31) + ">x</p>"); err != nil {
		t.Errorf("31 attributes with spaces in quoted values: %v", err)
	}
	if _, err := h.Sanitize("<p " + strings.Repeat(`a=1 `, 33) + ">x</p>"); !errors.Is(err, ErrHTMLTooComplex) {
		t.Errorf("33 attributes: %v", err)
	}
	if _, err := NewHTML(HTMLOptions{MaxTags: -1}); err == nil {
		t.Error("negative limit accepted")
	}
	if _, err := NewHTML(HTMLOptions{Preset: 9}); err == nil {
		t.Error("unknown preset accepted")
	}
}

// BenchmarkHTMLPathological measures the worst accepted shapes at the
// default limits: their cost is what an attacker can buy per request.
func BenchmarkHTMLPathological(b *testing.B) {
	h, _ := NewHTML(HTMLOptions{Preset: PresetUGC})
	for name, in := range pathological(64 << 10) {
		// Trim each shape until it passes the limits.
		for h.Check(in) != nil {
			in = in[:len(in)*9/10]
		}
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				_, _ = h.Sanitize(in)
			}
		})
	}
}

func TestHTMLUserContentPreset(t *testing.T) {
	t.Parallel()
	plain, err := NewHTML(HTMLOptions{Preset: PresetUserContent})
	if err != nil {
		t.Fatal(err)
	}
	images, err := NewHTML(HTMLOptions{Preset: PresetUserContent, ImageOrigins: []string{"https://img.example.com", "https://cdn.example.net:8443"}})
	if err != nil {
		t.Fatal(err)
	}
	ugc, _ := NewHTML(HTMLOptions{Preset: PresetUGC})
	for _, tc := range []struct {
		name, in string
		h        *HTML
		want     string
	}{
		{"formatting kept", `<p><b>bold</b> <em>x</em></p><ul><li>a</li></ul>`, plain, `<p><b>bold</b> <em>x</em></p><ul><li>a</li></ul>`},
		{"links get nofollow noreferrer", `<a href="https://example.com/">x</a>`, plain, `<a href="https://example.com/" rel="nofollow noreferrer">x</a>`},
		{"id dropped", `<p id="config">x</p><a id="csrfToken" href="/x">y</a>`, plain, `<p>x</p><a href="/x" rel="nofollow noreferrer">y</a>`},
		{"image map dropped", `<map name="login"><area href="/x" shape="rect" coords="0,0,1,1"></map><img usemap="#login">`, plain, ``},
		{"remote image dropped", `<p>hi<img src="https://tracker.test/p.gif?u=1"></p>`, plain, `<p>hi</p>`},
		{"relative image dropped", `<img src="/logout">`, plain, ``},
		{"title and lang kept", `<p title="t" lang="en">x</p>`, plain, `<p title="t" lang="en">x</p>`},
		{"script still dropped", `<p>x</p><script>alert(1)</script>`, plain, `<p>x</p>`},
		{"image from allowed origin", `<img src="https://img.example.com/a.png" alt="a">`, images, `<img src="https://img.example.com/a.png" alt="a">`},
		{"image from allowed origin with port", `<img src="https://cdn.example.net:8443/a.png">`, images, `<img src="https://cdn.example.net:8443/a.png">`},
		{"image from a look-alike host", `<img src="https://img.example.com.evil.test/a.png">`, images, ``},
		{"image with userinfo", `<img src="https://img.example.com@evil.test/a.png">`, images, ``},
		{"image over http", `<img src="http://img.example.com/a.png">`, images, ``},
		{"image protocol-relative", `<img src="//img.example.com/a.png">`, images, ``},
		{"image with event handler", `<img src="https://img.example.com/a.png" onerror="alert(1)">`, images, `<img src="https://img.example.com/a.png">`},
		// PresetUGC is documented as keeping these.
		{"ugc keeps id", `<p id="config">x</p>`, ugc, `<p id="config">x</p>`},
		{"ugc keeps remote images", `<img src="https://tracker.test/p.gif">`, ugc, `<img src="https://tracker.test/p.gif">`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.h.Sanitize(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, bad := range [][]string{{"img.example.com"}, {"https://img.example.com/path"}, {"ftp://img.example.com"}, {"https://user@img.example.com"}, {"https://"}} {
		if _, err := NewHTML(HTMLOptions{Preset: PresetUserContent, ImageOrigins: bad}); !errors.Is(err, errs.KindConfiguration) {
			t.Errorf("ImageOrigins %q: %v, want a configuration error", bad, err)
		}
	}
	if _, err := NewHTML(HTMLOptions{Preset: PresetUGC, ImageOrigins: []string{"https://img.example.com"}}); !errors.Is(err, errs.KindConfiguration) {
		t.Errorf("ImageOrigins with PresetUGC: %v, want a configuration error", err)
	}
}
