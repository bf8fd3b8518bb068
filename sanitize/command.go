package sanitize

import (
	"unicode/utf8"

	"github.com/covetgo/covet/errs"
)

// ErrUnsafeArgument is returned by CommandArg.
var ErrUnsafeArgument = errs.New(errs.KindBadRequest, "unsafe_argument", "The value cannot be passed to a command.")

// maxArgBytes caps one command argument.
const maxArgBytes = 4096

// CommandArg checks user input that code passes as one argument to
// exec.Command. exec.Command runs no shell, so quoting is not the danger;
// option injection is: a value starting with '-' is read as a flag
// ("--output=/etc/passwd", "-oProxyCommand=..."). CommandArg refuses values
// that are empty, start with '-', hold NUL or other control characters
// (including newlines, which line-oriented tools split on), are invalid
// UTF-8 or longer than 4096 bytes. Also put "--" before user arguments when
// the command supports it.
func CommandArg(s string) error {
	if s == "" || s[0] == '-' || len(s) > maxArgBytes || !utf8.ValidString(s) {
		return ErrUnsafeArgument
	}
	for i := 0; i < len(s); i++ {
		if isControl(s[i]) {
			return ErrUnsafeArgument
		}
	}
	return nil
}

// CommandArgs checks each argument with CommandArg.
func CommandArgs(args ...string) error {
	for _, a := range args {
		if err := CommandArg(a); err != nil {
			return err
		}
	}
	return nil
}
