package httpx

// tchar is the RFC 9110 §5.6.2 tchar set: the bytes a token (a method, a
// header name, a parameter name) may hold.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// IsTokenChar reports whether c is an RFC 9110 tchar: a letter, a digit or
// one of !#$%&'*+-.^_`|~.
func IsTokenChar(c byte) bool { return tchar[c] }

// IsToken reports whether s is an RFC 9110 token: one or more tchar.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return true
}
