// Command stackserver serves one of the full-stack comparison stacks (or
// the bare handler) on a loopback port, for load tests with wrk:
//
//	stackserver -stack covet -addr 127.0.0.1:18080
//
// It prints a bearer token the stacks accept on its first line.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"runtime/pprof"
	"time"

	"github.com/covetgo/covet/bench"
)

func main() {
	stack := flag.String("stack", "covet", "bare, covet, covet-uncached, covet-slog (access log through slog's JSON handler), covet-nolog (no access log) or peers")
	addr := flag.String("addr", "127.0.0.1:18080", "listen address (loopback)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the first -profilefor of serving to this file")
	profileFor := flag.Duration("profilefor", 10*time.Second, "how long -cpuprofile records")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		time.AfterFunc(*profileFor, func() { pprof.StopCPUProfile(); _ = f.Close() })
	}

	var h http.Handler
	switch *stack {
	case "bare":
		h = bench.StackHandler
	case "covet", "covet-uncached", "covet-slog", "covet-nolog":
		logs := bench.LogLines
		switch *stack {
		case "covet-slog":
			logs = bench.LogSlog
		case "covet-nolog":
			logs = bench.LogNone
		}
		var err error
		h, _, err = bench.CovetStack(*stack != "covet-uncached", logs)
		if err != nil {
			log.Fatal(err)
		}
	case "peers":
		h = bench.PeerStack(io.Discard)
	default:
		fmt.Fprintln(os.Stderr, "unknown -stack", *stack)
		os.Exit(2)
	}
	fmt.Println(bench.StackToken())
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
