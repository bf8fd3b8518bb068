package password

import (
	"context"
	"testing"
)

// BenchmarkPasswordVerify compares a known account (a real hash, wrong
// password) with an unknown one (hash "": the dummy verification). The two
// should take the same time, so response time does not reveal accounts.
func BenchmarkPasswordVerify(b *testing.B) {
	pw, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	hash, _ := pw.Hash(ctx, "the real password")
	b.Run("known-user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, _ := pw.Verify(ctx, hash, "a guess"); ok {
				b.Fatal("matched")
			}
		}
	})
	b.Run("unknown-user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, _ := pw.Verify(ctx, "", "a guess"); ok {
				b.Fatal("matched")
			}
		}
	})
}
