package sanitize

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/covetgo/covet/errs"
)

// MaxPathBytes caps a user-supplied relative path.
const MaxPathBytes = 1024

// ErrUnsafePath is returned for a user-supplied path that is not a plain
// relative path inside the root.
var ErrUnsafePath = errs.New(errs.KindSecurity, "unsafe_path", "The file name is not allowed.")

// LocalPath checks a user-supplied, slash-separated relative path and returns
// it cleaned. It refuses the empty path, absolute paths, drive letters and
// volume names, ".." anywhere, backslashes (a separator on Windows, a
// filename byte elsewhere), NUL and other control characters, invalid UTF-8,
// Windows reserved names (CON, NUL, COM1...) and paths over MaxPathBytes. It
// does not touch the file system: symlinks are Root's concern.
func LocalPath(name string) (string, error) {
	if name == "" || len(name) > MaxPathBytes || !utf8.ValidString(name) {
		return "", ErrUnsafePath
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; isControl(c) || c == '\\' || c == ':' {
			return "", ErrUnsafePath
		}
	}
	if name[0] == '/' {
		return "", ErrUnsafePath
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == ".." {
			return "", ErrUnsafePath
		}
	}
	clean := filepath.ToSlash(filepath.Clean(filepath.FromSlash(name)))
	// filepath.IsLocal also refuses reserved names on Windows; check them
	// on every platform so behaviour does not depend on where it runs.
	if !filepath.IsLocal(filepath.FromSlash(clean)) || clean == "." || hasReservedName(clean) {
		return "", ErrUnsafePath
	}
	return clean, nil
}

var reserved = map[string]bool{
	"con": true, "prn": true, "aux": true, "nul": true, "conin$": true, "conout$": true,
	"com1": true, "com2": true, "com3": true, "com4": true, "com5": true, "com6": true, "com7": true, "com8": true, "com9": true,
	"lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true, "lpt5": true, "lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true,
}

func hasReservedName(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		base, _, _ := strings.Cut(seg, ".")
		if reserved[strings.ToLower(strings.TrimRight(base, " "))] {
			return true
		}
	}
	return false
}

// Root opens user-named files only inside one directory. It is built on
// os.Root, so a symlink (or a ".." hidden in one) that leads outside the
// directory fails, whatever the path looks like.
type Root struct {
	root *os.Root
}

// OpenRoot opens dir as a Root.
func OpenRoot(dir string) (*Root, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, errs.Configf("sanitize: open root %q: %v", dir, err)
	}
	return &Root{root: r}, nil
}

// Open opens the user-named file for reading. An unsafe name gives
// ErrUnsafePath (400), a missing file a not-found error (404), an escape
// through a symlink ErrUnsafePath.
func (r *Root) Open(name string) (*os.File, error) {
	clean, err := LocalPath(name)
	if err != nil {
		return nil, err
	}
	f, err := r.root.Open(clean)
	if err != nil {
		return nil, fsError(err)
	}
	return f, nil
}

// Stat describes the user-named file, with Open's checks and errors.
func (r *Root) Stat(name string) (fs.FileInfo, error) {
	clean, err := LocalPath(name)
	if err != nil {
		return nil, err
	}
	fi, err := r.root.Stat(clean)
	if err != nil {
		return nil, fsError(err)
	}
	return fi, nil
}

// FS returns the root as an fs.FS (for http.FileServerFS); its Open refuses
// what Open refuses.
func (r *Root) FS() fs.FS { return r.root.FS() }

// Name returns the directory the root was opened with.
func (r *Root) Name() string { return r.root.Name() }

// Close releases the root's directory handle.
func (r *Root) Close() error { return r.root.Close() }

func fsError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errs.Wrap(err, errs.KindNotFound, "file_not_found", "The file does not exist.")
	case errors.Is(err, fs.ErrPermission):
		return errs.Wrap(err, errs.KindAuthorization, "file_forbidden", "The file may not be read.")
	}
	// os.Root reports an escape ("path escapes from parent") with an
	// unexported error; anything else on a checked name is refused too.
	return ErrUnsafePath.WithCause(err)
}
