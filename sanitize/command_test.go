package sanitize

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestCommandArg(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		arg string
		ok  bool
	}{
		{"report.txt", true},
		{"a b; rm -rf /", true}, // no shell: one harmless argument
		{"$(id)", true},
		{"日本", true},
		{"", false},
		{"-rf", false},
		{"--output=/etc/passwd", false},
		{"-oProxyCommand=id", false},
		{"a\nb", false},
		{"a\x00b", false},
		{"\xff", false},
		{strings.Repeat("a", 5000), false},
	} {
		err := CommandArg(tc.arg)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrUnsafeArgument)) {
			t.Errorf("CommandArg(%q) = %v", tc.arg, err)
		}
	}
	if err := CommandArgs("a", "-b"); err == nil {
		t.Error("CommandArgs accepted -b")
	}
}

// TestCommandArgWithExec shows the helper in place: an accepted value
// reaches the program as one literal argument.
func TestCommandArgWithExec(t *testing.T) {
	t.Parallel()
	echo, err := exec.LookPath("echo")
	if err != nil {
		t.Skip("no echo")
	}
	arg := "a b; $(id) `id`"
	if err := CommandArg(arg); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(echo, "--", arg).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "-- "+arg && got != arg {
		t.Fatalf("echo printed %q", got)
	}
}
