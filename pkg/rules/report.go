package rules

import (
	"fmt"
	"io"
	"strings"

	"github.com/tapstack/tapstack/internal/jsonout"
)

// Report is the result of a check, as printed and as JSON.
type Report struct {
	Stack    string    `json:"stack"`
	Profile  string    `json:"profile"`
	Date     string    `json:"date"`
	Findings []Finding `json:"findings"`
	Summary  struct {
		Errors   int `json:"errors"`
		Warnings int `json:"warnings"`
	} `json:"summary"`
	Cost *Cost `json:"cost,omitempty"`
}

// NewReport summarises findings.
func NewReport(stack, profile, date string, fs []Finding, cost *Cost) Report {
	r := Report{Stack: stack, Profile: profile, Date: date, Findings: fs, Cost: cost}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	r.Summary.Errors, _, r.Summary.Warnings = Count(fs)
	return r
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	return jsonout.Write(w, r)
}

// WriteText writes the report for people.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "tapstack check: %s (profile %s) on %s\n", r.Stack, r.Profile, r.Date)
	WriteFindings(&b, r.Findings)
	fmt.Fprintf(&b, "%d error(s), %d warning(s)\n", r.Summary.Errors, r.Summary.Warnings)
	if r.Cost != nil {
		b.WriteString("\n")
		r.Cost.WriteText(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteFindings writes one block per finding.
func WriteFindings(b *strings.Builder, fs []Finding) {
	for _, f := range fs {
		sev := strings.ToUpper(string(f.Severity))
		if f.Allowed {
			sev = "ALLOWED"
		}
		fmt.Fprintf(b, "%-7s %s [%s] %s: %s\n", sev, f.Rule, f.Kind, f.Path, f.Message)
		if f.Fix != "" {
			fmt.Fprintf(b, "        fix: %s\n", f.Fix)
		}
	}
}

// WriteText writes the estimate as a table.
func (c *Cost) WriteText(b *strings.Builder) {
	fmt.Fprintf(b, "Cost estimate (%s per month of %.0f hours, at desired sizes):\n", c.Currency, c.HoursPerMonth)
	for _, it := range c.Items {
		amount := "not priced"
		switch {
		case it.Priced && it.MonthlyLow != it.MonthlyHigh:
			amount = fmt.Sprintf("%.2f - %.2f", it.MonthlyLow, it.MonthlyHigh)
		case it.Priced:
			amount = fmt.Sprintf("%.2f", it.MonthlyHigh)
		}
		fmt.Fprintf(b, "  %-58s %17s", it.Item, amount)
		if it.Priced && it.HourlyPrice > 0 {
			fmt.Fprintf(b, "  ($%g/h, %s, source %s)", it.HourlyPrice, it.PriceDate, it.Source)
		} else if it.Priced {
			fmt.Fprintf(b, "  (%s, source %s)", it.PriceDate, it.Source)
		}
		b.WriteString("\n")
		if it.Note != "" {
			fmt.Fprintf(b, "  %-58s %s\n", "", strings.TrimPrefix(it.Note, "; "))
		}
	}
	total := fmt.Sprintf("%.2f", c.MonthlyHigh)
	if c.MonthlyLow != c.MonthlyHigh {
		total = fmt.Sprintf("%.2f - %.2f", c.MonthlyLow, c.MonthlyHigh)
	}
	fmt.Fprintf(b, "  %-58s %17s\n", "total", total)
	if len(c.Unpriced) > 0 {
		fmt.Fprintf(b, "  not in the total (no sourced price): %s\n", strings.Join(c.Unpriced, "; "))
	}
}
