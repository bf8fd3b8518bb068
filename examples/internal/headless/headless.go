// Package headless starts Debian's Chromium for the examples' browser
// tests, with the flags this machine's closed network needs.
package headless

import (
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/covetgo/covet/internal/testsvc"
)

// Chromium returns the path of Chromium, or skips t (fails it when services
// are required, as in CI, which installs it).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if testsvc.Required() {
		t.Fatal("Chromium is required (COVET_REQUIRE_SERVICES=1) but not installed: apt-get install chromium")
	}
	t.Skip("Chromium not installed (apt-get install chromium); skipping the browser test")
	return ""
}

// Options are the allocator options for a headless Chromium at exe with a
// fresh profile: no sandbox (the tests run as root), no GPU, and none of the
// background connections that stall on a network without the internet;
// extra options follow.
func Options(t testing.TB, exe string, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	return append(opts, extra...)
}
