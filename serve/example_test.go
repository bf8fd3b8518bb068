package serve_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/covetgo/covet/observe"
	"github.com/covetgo/covet/serve"
	"github.com/covetgo/covet/wstools"
)

// A server with a start/stop hook and a readiness check. In a real main,
// leave Signals nil (SIGINT and SIGTERM) and Addr at its default, and call
// Run(context.Background()).
func Example() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello")
	})
	s, err := serve.New(serve.Options{
		Handler: observe.RequestID(mux),
		Addr:    "127.0.0.1:0",
		Signals: []os.Signal{}, // the example stops through the context
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	s.Hook(serve.Hook{
		Name:    "db",
		OnStart: func(context.Context) error { fmt.Println("db: connected"); return nil },
		OnStop:  func(context.Context) error { fmt.Println("db: closed"); return nil },
	})
	s.Check("db", func(ctx context.Context) error { return nil })

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-s.Started()

	base := "http://" + s.Addr().String()
	for _, path := range []string{"/readyz", "/hello"} {
		resp, err := http.Get(base + path)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if path == "/readyz" {
			fmt.Println(path, resp.StatusCode)
		} else {
			fmt.Println(path, resp.StatusCode, string(body))
		}
	}

	stop() // what SIGTERM does in production
	fmt.Println("run:", <-done)
	// Output:
	// db: connected
	// /readyz 200
	// /hello 200 hello
	// db: closed
	// run: <nil>
}

// A WebSocket hub behind the server: Drain makes Run wait until the hub
// has closed its connections, before the stop hooks close what it uses.
func ExampleServer_Drain() {
	hub, err := wstools.New(wstools.Options{Router: wstools.NewRouter(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", hub)
	s, err := serve.New(serve.Options{
		Handler: mux,
		Addr:    "127.0.0.1:0",
		Signals: []os.Signal{},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	s.Drain("websockets", hub.Drain)
	s.Hook(serve.Hook{Name: "broker", OnStop: func(context.Context) error {
		fmt.Println("broker closed with", hub.Len(), "connections open")
		return nil
	}})

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-s.Started()
	stop()
	fmt.Println("run:", <-done)
	// Output:
	// broker closed with 0 connections open
	// run: <nil>
}
