package harness

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// LogWriter sends a process's output to the test log, line by line, each line behind prefix.
type LogWriter struct {
	T      testing.TB
	Prefix string
	mu     sync.Mutex
	buf    bytes.Buffer
}

func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.T.Log(w.Prefix + strings.TrimRight(line, "\n"))
	}
}
