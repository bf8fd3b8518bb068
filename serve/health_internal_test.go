package serve

import (
	"context"
	"testing"
	"time"
)

// TestRunChecksBackToBack: a run right after another must start the checks
// again, not find them still marked as running from the previous run.
func TestRunChecksBackToBack(t *testing.T) {
	t.Parallel()
	ok := func(context.Context) error { return nil }
	rd := readiness{timeout: 5 * time.Second}
	checks := []*check{{name: "a", fn: ok}, {name: "b", fn: ok}}
	for i := range 20000 {
		if res, ok := rd.runChecks(checks); !ok {
			t.Fatalf("run %d: %v", i, res)
		}
	}
}
