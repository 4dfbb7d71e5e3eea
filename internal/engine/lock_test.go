package engine

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLockDirExcludes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "stacks", "TapStackdev") // created by LockDir
	ctx := context.Background()
	first, err := LockDir(ctx, dir, 0, "tapstack deploy")
	if err != nil {
		t.Fatal(err)
	}
	if first.Path() != filepath.Join(dir, LockFileName) {
		t.Errorf("Path() = %s", first.Path())
	}
	_, err = LockDir(ctx, dir, 0, "tapstack plan")
	var le *DirLockedError
	if !errors.As(err, &le) {
		t.Fatalf("second lock: %v, want a *DirLockedError", err)
	}
	if !strings.Contains(le.Holder, "tapstack deploy") || !strings.Contains(le.Holder, "pid ") {
		t.Errorf("holder %q does not name the first command", le.Holder)
	}
	for _, w := range []string{"in use by tapstack deploy", LockFileName, "wait longer for the lock"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not say %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "--") {
		t.Errorf("%q names a flag, which only the caller knows", err)
	}

	// A waiter gets the lock once it is released.
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = first.Unlock()
	}()
	start := time.Now()
	second, err := LockDir(ctx, dir, 10*time.Second, "tapstack plan")
	if err != nil {
		t.Fatalf("waiting for the lock: %v", err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("got the lock after %s, before it was released", waited)
	}
	if err := second.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := second.Unlock(); err != nil { // twice is fine
		t.Fatal(err)
	}
	third, err := LockDir(ctx, dir, 0, "x")
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	third.Unlock()
}

func TestLockDirTimeoutAndCancel(t *testing.T) {
	dir := t.TempDir()
	held, err := LockDir(context.Background(), dir, 0, "holder")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	start := time.Now()
	_, err = LockDir(context.Background(), dir, 500*time.Millisecond, "waiter")
	var le *DirLockedError
	if !errors.As(err, &le) || time.Since(start) < 450*time.Millisecond {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err = LockDir(ctx, dir, time.Minute, "waiter")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

// The lock holds across processes: a child process holds it while this one tries.
func TestLockDirAcrossProcesses(t *testing.T) {
	if os.Getenv("TAPSTACK_LOCK_HELPER") != "" {
		l, err := LockDir(context.Background(), os.Getenv("TAPSTACK_LOCK_HELPER"), 0, "helper process")
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(2 * time.Second)
		l.Unlock()
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockDirAcrossProcesses$")
	cmd.Env = append(os.Environ(), "TAPSTACK_LOCK_HELPER="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("helper: %q %v", buf, err)
	}
	_, err = LockDir(context.Background(), dir, 0, "test")
	var le *DirLockedError
	if !errors.As(err, &le) || !strings.Contains(le.Holder, "helper process") {
		t.Fatalf("while another process holds the lock: %v", err)
	}
	l, err := LockDir(context.Background(), dir, 10*time.Second, "test")
	if err != nil {
		t.Fatalf("after the other process let go: %v", err)
	}
	l.Unlock()
}
