package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
)

// Hook is a resource's part in the lifecycle. OnStart runs before the
// server listens, in the order hooks were added; OnStop runs after the
// requests have drained, in reverse order, and only for hooks whose OnStart
// ran (or that have none). Either may be nil. Each call gets a context
// bounded by Options.HookTimeout; OnStart's is also cancelled when a
// shutdown signal arrives during start-up.
type Hook struct {
	Name    string
	OnStart func(ctx context.Context) error
	OnStop  func(ctx context.Context) error
}

// HookError reports the hook or drain that failed and in which phase
// ("start", "stop" or "drain"). One that panics fails with the panic value
// in Err.
type HookError struct {
	Hook  string
	Phase string
	Err   error
}

func (e *HookError) Error() string {
	return "serve: " + e.Phase + " hook " + strconv.Quote(e.Hook) + " failed: " + e.Err.Error()
}

// Unwrap returns the hook's error.
func (e *HookError) Unwrap() error { return e.Err }

// Hook adds h to the lifecycle. It panics when called after Run has
// started or when h has no name, as http.ServeMux does for a bad pattern:
// both are programming errors.
func (s *Server) Hook(h Hook) {
	if h.Name == "" {
		panic("serve: Hook needs a Name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		panic("serve: Hook called after Run")
	}
	s.hooks = append(s.hooks, h)
}

// callHook runs fn with the hook timeout, turning a panic into an error.
func (s *Server) callHook(parent context.Context, fn func(context.Context) error) (err error) {
	if fn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(parent, s.hookTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return fn(ctx)
}

// stopHooks runs the OnStop of hooks in reverse order. Every hook runs even
// when an earlier one fails; the errors are joined.
func (s *Server) stopHooks(ctx context.Context, hooks []Hook) error {
	base := context.WithoutCancel(ctx) // ctx is often why we are stopping
	var all []error
	for i := len(hooks) - 1; i >= 0; i-- {
		h := hooks[i]
		if err := s.callHook(base, h.OnStop); err != nil {
			s.logger.Error("stop hook failed", slog.String("hook", h.Name), slog.String("error", s.sanitizer().String(err.Error())))
			all = append(all, &HookError{Hook: h.Name, Phase: "stop", Err: err})
		}
	}
	return errors.Join(all...)
}
