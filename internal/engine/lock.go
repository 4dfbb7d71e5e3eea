package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LockFileName is the file a command locks in the stack directory while it runs, so that two commands on one
// machine never share .terraform or a plan file. The S3 lock guards the state across machines.
const LockFileName = ".tapstack.lock"

// lockPoll is how often a waiting command tries the lock again.
var lockPoll = 200 * time.Millisecond

// DirLock is a held lock on a stack directory.
type DirLock struct {
	path string
	f    *os.File
}

// LockDir takes the exclusive lock of dir (dir/.tapstack.lock), creating dir when needed. It waits up to timeout
// (0: not at all) or until ctx ends, then returns a *DirLockedError naming the holder. holder describes this
// command to whoever waits on the lock (for example "tapstack deploy").
func LockDir(ctx context.Context, dir string, timeout time.Duration, holder string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, LockFileName)
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		f, ok, err := tryLock(path)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			l := &DirLock{path: path, f: f}
			l.describe(holder, start)
			return l, nil
		}
		if !time.Now().Before(deadline) {
			return nil, &DirLockedError{Path: path, Holder: readHolder(path), Waited: time.Since(start).Round(time.Millisecond)}
		}
		wait := min(lockPoll, time.Until(deadline))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// Path is the lock file.
func (l *DirLock) Path() string { return l.path }

// Unlock releases the lock. It is safe to call more than once.
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlock(l.path, l.f)
	l.f = nil
	return err
}

// describe writes who holds the lock into the lock file, for the message of a command that waits.
func (l *DirLock) describe(holder string, since time.Time) {
	if holder == "" {
		holder = "tapstack"
	}
	host, _ := os.Hostname()
	s := fmt.Sprintf("%s (pid %d on %s, since %s)\n", holder, os.Getpid(), host, since.UTC().Format(time.RFC3339))
	if err := l.f.Truncate(0); err == nil {
		_, _ = l.f.WriteAt([]byte(s), 0)
	}
}

func readHolder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
