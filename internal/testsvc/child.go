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

// ChildRedis is a private redis-server process that one test owns, so the
// test can pause, kill and restart it without touching the shared server.
type ChildRedis struct {
	t    testing.TB
	port int

	mu  sync.Mutex
	cmd *exec.Cmd
}

// StartRedis starts a redis-server child process on a free loopback port
// (no persistence) and stops it when the test ends. Without a redis-server
// binary the test is skipped, or fails when services are required.
func StartRedis(t testing.TB) *ChildRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if Required() {
			t.Fatal("redis-server binary not found")
		}
		t.Skip("redis-server binary not found")
	}
	c := &ChildRedis{t: t, port: FreePort(t)}
	c.start()
	t.Cleanup(c.Kill)
	return c
}

// Addr is the child's host:port.
func (c *ChildRedis) Addr() string { return "127.0.0.1:" + strconv.Itoa(c.port) }

func (c *ChildRedis) start() {
	c.t.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(c.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
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
			c.t.Fatalf("redis-server on %s did not start: %v", c.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *ChildRedis) signal(sig syscall.Signal) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		c.t.Fatal("redis child is not running")
	}
	if err := c.cmd.Process.Signal(sig); err != nil {
		c.t.Fatal(err)
	}
}

// Pause stops the process with SIGSTOP: connections stay open and nothing
// answers, as with a stalled server. The test's cleanup resumes it.
func (c *ChildRedis) Pause() {
	c.t.Helper()
	c.signal(syscall.SIGSTOP)
}

// Resume continues a paused process with SIGCONT.
func (c *ChildRedis) Resume() {
	c.t.Helper()
	c.signal(syscall.SIGCONT)
}

// Kill ends the process (connections are refused afterwards). It is safe to
// call more than once.
func (c *ChildRedis) Kill() {
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

// Restart starts a fresh, empty server on the same port after Kill.
func (c *ChildRedis) Restart() {
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
