//go:build unix

package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// watchWriter collects what is written and closes seen when it holds want; tfexec writes stdout and stderr from
// two goroutines.
type watchWriter struct {
	mu   sync.Mutex
	b    strings.Builder
	want string
	seen chan struct{}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if w.seen != nil && strings.Contains(w.b.String(), w.want) {
		close(w.seen)
		w.seen = nil
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestApplyInterrupted cancels an apply's context: the engine gets SIGINT, stops on its own (it is not killed)
// and the error says so.
func TestApplyInterrupted(t *testing.T) {
	exe, _ := writeFakeEngine(t)
	t.Setenv("FAKE_APPLY_WAIT", "\nError: execution halted\n")
	w := &watchWriter{want: "Creating...", seen: make(chan struct{})}
	seen := w.seen
	e, err := New(context.Background(), Options{ExecPath: exe, Dir: t.TempDir(), Progress: w,
		Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-seen:
			cancel()
		case <-time.After(30 * time.Second):
		}
	}()
	start := time.Now() // clock: the stop must not wait for a kill
	err = Interrupted("apply", e.Apply(ctx, "p"))
	var ie *InterruptedError
	if !errors.As(err, &ie) || ie.Engine == nil || ie.Engine.ExitCode != 1 {
		t.Fatalf("got %v (%#v)", err, err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the interrupted apply took %s", took)
	}
	if !strings.Contains(w.String(), "Interrupt received.") {
		t.Errorf("the engine did not get SIGINT:\n%s", w.String())
	}
	if !strings.Contains(err.Error(), "apply: interrupted; Terraform apply was asked to stop and has exited: it "+
		"released the state lock") {
		t.Errorf("message %q", err)
	}
}
