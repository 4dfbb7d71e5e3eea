package live

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tapstack/tapstack/internal/jsonout"
)

// WriteText writes the per-check table: ID, status, duration, name and note.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	counts := map[Status]int{}
	for _, res := range r.Results {
		counts[res.Status]++
	}
	fmt.Fprintf(&b, "Live checks (%d in %s: %d ok, %d with findings, %d not checked, %d failed):\n", len(r.Results),
		round(r.Duration), counts[StatusOK], counts[StatusFinding], counts[StatusNotChecked], counts[StatusError])
	if r.State != "" {
		fmt.Fprintf(&b, "  state: %s\n", r.State)
	}
	for _, res := range r.Results {
		fmt.Fprintf(&b, "  %-5s %-11s %8s  %s", res.ID, res.Status, round(res.Duration), res.Name)
		if res.Note != "" {
			fmt.Fprintf(&b, ": %s", res.Note)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the results as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	return jsonout.Write(w, r)
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
