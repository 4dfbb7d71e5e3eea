package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// PlannedChange is one resource change a plan announces in its machine-readable output: a `planned_change`
// message (https://developer.hashicorp.com/terraform/internals/machine-readable-ui#planned-change). It carries
// the action but not the attributes that change or force a replacement; those need show -json.
type PlannedChange struct {
	Address string
	Type    string
	// Action is noop, create, read, update, replace, delete, move, import or remove.
	Action string
	// Reason says why a replace or delete happens (cannot_update, tainted, delete_because_no_resource_config, ...).
	Reason          string
	PreviousAddress string
	ImportID        string
}

// Destructive reports whether the change deletes or replaces the object.
func (c PlannedChange) Destructive() bool { return c.Action == "replace" || c.Action == "delete" }

// PlanChanges writes a saved plan to file as Plan does, reading the engine's machine-readable output (-json)
// instead of its human one: the changes come without show -json, which loads every provider schema. Each
// message's text streams to the progress writer.
func (e *Engine) PlanChanges(ctx context.Context, file string, po PlanOptions) (changes bool, planned []PlannedChange, err error) {
	opts := []tfexec.PlanOption{tfexec.Out(file), tfexec.LockTimeout(e.lockTimeoutArg())}
	if po.Destroy {
		opts = append(opts, tfexec.Destroy(true))
	}
	if po.RefreshOnly {
		opts = append(opts, tfexec.RefreshOnly(true))
	}
	w := &uiReader{progress: e.progress}
	err = e.run("plan", false, func() error {
		var perr error
		changes, perr = e.tf.PlanJSON(ctx, w, opts...)
		return perr
	})
	w.flush()
	// With -json the engine reports its errors on stdout as diagnostic messages: the error carries them as it
	// carries stderr's (a held state lock, say).
	var ce *CommandError
	if errors.As(err, &ce) && w.diags.Len() > 0 {
		ce.Stderr += w.diags.String()
		ce.Diagnostics = diagnostics(ce.Stderr)
	}
	return changes, w.planned, err
}

// uiReader reads machine-readable UI messages line by line: it keeps the planned changes and writes each
// message's text (@message) to progress, so a person still follows the plan.
type uiReader struct {
	progress io.Writer
	buf      []byte
	planned  []PlannedChange
	// diags are the error diagnostics as the human output prints them ("Error: summary" and the detail).
	diags bytes.Buffer
}

func (r *uiReader) Write(p []byte) (int, error) {
	r.buf = append(r.buf, p...)
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		r.line(r.buf[:i])
		r.buf = r.buf[i+1:]
	}
}

var severityWord = map[string]string{"error": "Error", "warning": "Warning"}

// ParsePlannedChanges reads the planned changes of a plan's machine-readable output.
func ParsePlannedChanges(out []byte) []PlannedChange {
	r := &uiReader{progress: io.Discard}
	_, _ = r.Write(out)
	r.flush()
	return r.planned
}

func (r *uiReader) flush() {
	if len(bytes.TrimSpace(r.buf)) > 0 {
		r.line(r.buf)
	}
	r.buf = nil
}

// uiMessage is the part of a machine-readable UI message tapstack reads.
type uiMessage struct {
	Message    string `json:"@message"`
	Type       string `json:"type"`
	Diagnostic *struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
		Detail   string `json:"detail"`
	} `json:"diagnostic"`
	Change *struct {
		Resource struct {
			Addr         string `json:"addr"`
			ResourceType string `json:"resource_type"`
		} `json:"resource"`
		PreviousResource *struct {
			Addr string `json:"addr"`
		} `json:"previous_resource"`
		Action    string `json:"action"`
		Reason    string `json:"reason"`
		Importing *struct {
			ID string `json:"id"`
		} `json:"importing"`
	} `json:"change"`
}

func (r *uiReader) line(b []byte) {
	var m uiMessage
	if err := json.Unmarshal(b, &m); err != nil {
		fmt.Fprintf(r.progress, "%s\n", b) // not a message: pass it on as it came
		return
	}
	if m.Type == "diagnostic" && m.Diagnostic != nil {
		text := fmt.Sprintf("\n%s: %s\n\n%s\n", severityWord[m.Diagnostic.Severity], m.Diagnostic.Summary, m.Diagnostic.Detail)
		fmt.Fprint(r.progress, text)
		if m.Diagnostic.Severity == "error" {
			r.diags.WriteString(text)
		}
		return
	}
	if m.Type != "version" && m.Message != "" {
		fmt.Fprintln(r.progress, m.Message)
	}
	if m.Type != "planned_change" || m.Change == nil {
		return
	}
	c := PlannedChange{Address: m.Change.Resource.Addr, Type: m.Change.Resource.ResourceType, Action: m.Change.Action,
		Reason: m.Change.Reason}
	if m.Change.PreviousResource != nil {
		c.PreviousAddress = m.Change.PreviousResource.Addr
	}
	if m.Change.Importing != nil {
		c.ImportID = m.Change.Importing.ID
	}
	r.planned = append(r.planned, c)
}
