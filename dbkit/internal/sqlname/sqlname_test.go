package sqlname

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"goose_db_version", true},
		{"_t1", true},
		{"T", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{strings.Repeat("a", 64), false},
		{"1table", false},
		{"v; drop", false},
		{"a-b", false},
		{"schema.table", false},
		{"tablé", false},
	} {
		if got := Valid(tc.name); got != tc.ok {
			t.Errorf("Valid(%q) = %v; want %v", tc.name, got, tc.ok)
		}
	}
}
