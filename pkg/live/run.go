package live

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tapstack/tapstack/internal/awserr"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/rules"
	"github.com/tapstack/tapstack/pkg/tfdoc"
	"github.com/tapstack/tapstack/pkg/versions"
)

// DefaultTimeout bounds each check unless Options.Timeout says otherwise.
const DefaultTimeout = 30 * time.Second

// Status is how a check ended.
type Status string

const (
	// StatusOK: the check ran and found nothing.
	StatusOK Status = "ok"
	// StatusFinding: the check ran and reported at least one finding.
	StatusFinding Status = "finding"
	// StatusNotChecked: a permission is missing, or the endpoint does not implement an API the check needs.
	StatusNotChecked Status = "not-checked"
	// StatusError: the check could not run to its end (network, credentials, a server error, the timeout).
	StatusError Status = "error"
	// StatusMismatch: a verify part found the live stack differing from what was asked for.
	StatusMismatch Status = "mismatch"
)

// Input is what the live checks look at.
type Input struct {
	Config *config.Config
	// Doc is the synthesized stack; when set, the quota checks count what it creates (VPCs, gateways, addresses).
	Doc *tfdoc.Document
	// Date is the day version statuses are judged on; zero means today (UTC).
	Date versions.Date
	// Data is the version data; nil means versions.Get().
	Data *versions.Data
	// InState is what this stack's Terraform state already manages: an object that exists and is in it is the
	// stack's own, not a collision. Nil means there is no state, so everything that exists collides.
	InState *State
	// StateUnknown, when not empty, says why the state could not be read: collisions are then warnings, since
	// tapstack cannot tell the stack's own objects from others.
	StateUnknown string
	// Adopt is --adopt-existing: an orphaned control-plane log group is adopted through an import block instead
	// of being an error.
	Adopt bool
}

// Options tune a run.
type Options struct {
	// Timeout bounds each check; zero means DefaultTimeout.
	Timeout time.Duration
	// Only runs the checks with these IDs; empty runs all.
	Only []string
	// Done, when set, is called as each check finishes (from the check's goroutine, one call at a time), so a
	// person sees the slow ones as they come.
	Done func(Result)
}

// Result is the record of one check.
type Result struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Status   Status        `json:"status"`
	Duration time.Duration `json:"-"`
	// DurationMS is Duration in milliseconds, for the JSON report.
	DurationMS float64 `json:"durationMs"`
	Note       string  `json:"note,omitempty"`
	// API names the call a not-checked or failed check stopped at, and Action the IAM action it needs.
	API    string `json:"api,omitempty"`
	Action string `json:"iamAction,omitempty"`
}

// Report is the outcome of all live checks.
type Report struct {
	// State says what the collision checks took for the stack's state (set by the caller that read it).
	State    string          `json:"state,omitempty"`
	Results  []Result        `json:"checks"`
	Findings []rules.Finding `json:"-"`
	Duration time.Duration   `json:"-"`
	// DurationMS is the wall time of the whole run in milliseconds.
	DurationMS float64 `json:"durationMs"`
}

// Failed reports whether any check ended in StatusError.
func (r *Report) Failed() bool {
	for _, res := range r.Results {
		if res.Status == StatusError {
			return true
		}
	}
	return false
}

// Check is one live check.
type Check struct {
	ID      string
	Name    string
	Actions []string // the IAM actions it needs
	run     func(ctx context.Context, e *env) (findings []rules.Finding, note string, err error)
}

// env is what a check runs with.
type env struct {
	c    *Clients
	in   *Input
	cfg  *config.Config
	data *versions.Data
}

var checks []Check

func register(c Check) { checks = append(checks, c) }

// Checks lists every live check, sorted by ID.
func Checks() []Check {
	out := append([]Check(nil), checks...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CheckIDs lists every live check's ID, sorted: the IDs --allow accepts besides the rules'
// (rules.Input.LiveCheckIDs).
func CheckIDs() []string {
	var ids []string
	for _, c := range Checks() {
		ids = append(ids, c.ID)
	}
	return ids
}

// Run runs the live checks concurrently, each under its own timeout, and returns their findings (sorted as
// rules.Run sorts) and one result per check. It never fails: errors become results, and missing permissions
// warnings.
func Run(ctx context.Context, c *Clients, in Input, opts Options) *Report {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if in.Data == nil {
		in.Data = versions.Get()
	}
	if in.Date.IsZero() {
		in.Date, _ = versions.ParseDate(time.Now().UTC().Format(time.DateOnly))
	}
	only := map[string]bool{}
	for _, id := range opts.Only {
		only[id] = true
	}
	e := &env{c: c, in: &in, cfg: in.Config, data: in.Data}
	var selected []Check
	for _, ch := range Checks() {
		if len(only) == 0 || only[ch.ID] {
			selected = append(selected, ch)
		}
	}
	start := time.Now()
	results := make([]Result, len(selected))
	found := make([][]rules.Finding, len(selected))
	var wg sync.WaitGroup
	var done sync.Mutex
	for i, ch := range selected {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], found[i] = runOne(ctx, e, ch, opts.Timeout)
			if opts.Done != nil {
				done.Lock()
				defer done.Unlock()
				opts.Done(results[i])
			}
		}()
	}
	wg.Wait()
	r := &Report{Results: results, Duration: time.Since(start)}
	r.DurationMS = ms(r.Duration)
	for _, fs := range found {
		r.Findings = append(r.Findings, fs...)
	}
	// --allow overrules a live would-fail finding as it does a rule's.
	if in.Config != nil {
		rules.AllowFindings(r.Findings, in.Config.Allow)
	}
	rules.Sort(r.Findings)
	return r
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// runOne runs a check under its timeout. A check that outlives its timeout is abandoned (its goroutine ends when
// the SDK notices the cancelled context).
func runOne(parent context.Context, e *env, ch Check, timeout time.Duration) (Result, []rules.Finding) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	type outcome struct {
		fs   []rules.Finding
		note string
		err  error
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{err: fmt.Errorf("internal error: %v", p)}
			}
		}()
		fs, note, err := ch.run(ctx, e)
		done <- outcome{fs, note, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		o = outcome{err: ctx.Err()}
	}
	res := Result{ID: ch.ID, Name: ch.Name, Duration: time.Since(start), Note: o.note}
	res.DurationMS = ms(res.Duration)
	for i := range o.fs {
		o.fs[i].Rule = ch.ID
		if o.fs[i].Kind == "" {
			o.fs[i].Kind = rules.WouldFail
		}
		if o.fs[i].Severity == "" {
			o.fs[i].Severity = rules.Error
			if o.fs[i].Kind == rules.Advice {
				o.fs[i].Severity = rules.Warning
			}
		}
	}
	fs := o.fs
	switch {
	case o.err == nil && len(fs) == 0:
		res.Status = StatusOK
	case o.err == nil:
		res.Status = StatusFinding
	default:
		res.API, res.Action = apiOf(o.err)
		switch classify(ctx, o.err) {
		case classDenied:
			res.Status = StatusNotChecked
			res.Note = joinNote(res.Note, "access denied: needs "+res.Action)
			fs = append(fs, rules.Finding{
				Rule: ch.ID, Severity: rules.Warning, Kind: rules.Advice, Path: "live." + ch.ID,
				Message: fmt.Sprintf("%s not checked: the credentials lack %s (%s)", ch.Name, res.Action, short(o.err)),
				Fix:     "grant " + strings.Join(ch.Actions, ", ") + " to the identity that runs tapstack",
			})
		case classNotImplemented:
			res.Status = StatusNotChecked
			res.Note = joinNote(res.Note, "the endpoint does not implement "+res.API)
		case classTimeout:
			res.Status = StatusError
			res.Note = joinNote(res.Note, fmt.Sprintf("timed out after %s", timeout))
			if res.API != "" {
				res.Note += " (in " + res.API + ")"
			}
		default:
			res.Status = StatusError
			res.Note = joinNote(res.Note, short(o.err))
		}
	}
	return res, fs
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// short is an error's message without the SDK's operation prefix and request IDs.
func short(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	if code, msg := awserr.CodeMessage(err); code != "" {
		api, _ := apiOf(err)
		s := code
		if msg != "" {
			s += ": " + msg
		}
		if api != "" {
			s = api + ": " + s
		}
		return s
	}
	return err.Error()
}

// Merge returns the offline findings and the live ones in one sorted list.
func Merge(offline, live []rules.Finding) []rules.Finding {
	out := append(append([]rules.Finding(nil), offline...), live...)
	rules.Sort(out)
	return out
}
