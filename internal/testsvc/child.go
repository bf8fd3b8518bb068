package testsvc

import (
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Child is a server process that one test owns, on a free loopback port,
// so the test can pause, kill and restart it without touching the shared
// servers.
type Child struct {
	t    testing.TB
	name string
	args []string
	port int

	mu  sync.Mutex
	cmd *exec.Cmd
}

// StartChild starts the server binary name with args(port) on a free
// loopback port, waits until the port accepts connections, and kills the
// process when the test ends. Without the binary the test is skipped, or
// fails when services are required.
func StartChild(t testing.TB, name string, args func(port int) []string) *Child {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if Required() {
			t.Fatalf("%s binary not found", name)
		}
		t.Skipf("%s binary not found", name)
	}
	c := &Child{t: t, name: name}
	c.port = FreePort(t)
	c.args = args(c.port)
	c.start()
	t.Cleanup(c.Kill)
	return c
}

// StartRedis starts a redis-server child that keeps nothing on disk.
func StartRedis(t testing.TB) *Child {
	t.Helper()
	return StartChild(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	})
}

// Port is the child's port.
func (c *Child) Port() int { return c.port }

// Addr is the child's host:port.
func (c *Child) Addr() string { return "127.0.0.1:" + strconv.Itoa(c.port) }

func (c *Child) start() {
	c.t.Helper()
	cmd := exec.Command(c.name, c.args...)
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.cmd = cmd
	c.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", c.Addr(), 200*time.Millisecond)
		if err == nil {
			_ = conn.Close()
			return
		}
		if time.Now().After(deadline) {
			c.Kill()
			c.t.Fatalf("%s on %s did not start: %v", c.name, c.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// signal sends sig to the process, if it is running.
func (c *Child) signal(sig syscall.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		_ = c.cmd.Process.Signal(sig)
	}
}

// Pause stops the process with SIGSTOP: connections stay open and nothing
// answers, as with a stalled server. The test's cleanup resumes it.
func (c *Child) Pause() { c.signal(syscall.SIGSTOP) }

// Resume continues a paused process with SIGCONT.
func (c *Child) Resume() { c.signal(syscall.SIGCONT) }

// Kill ends the process (connections are refused afterwards). It is safe to
// call more than once.
func (c *Child) Kill() {
	c.mu.Lock()
	cmd := c.cmd
	c.cmd = nil
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// Restart starts a fresh server on the same port after Kill.
func (c *Child) Restart() {
	c.t.Helper()
	c.Kill()
	c.start()
}

// FreePort returns a loopback TCP port that nothing listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}
