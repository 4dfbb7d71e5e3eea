package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/lifecycle"
)

func init() { register(newEnvsCommand) }

// bucketFlags are the stack flags of the fleet commands: the state bucket, and --now for those that compare times.
var bucketFlags = stackFlagSet{settings: locatesBucket, now: true}

// envsReport is `tapstack envs --format json` (docs/fleet.md).
type envsReport struct {
	SchemaVersion int    `json:"schemaVersion"`
	Command       string `json:"command"`
	*lifecycle.Fleet
}

func newEnvsCommand(s stdio) *cobra.Command {
	var (
		sf     *stackFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "envs",
		Short: "every environment in the state bucket, from the state objects alone",
		Long: `envs lists every state object of the state bucket (every key ending in .tfstate, page by page) and reads
them, 16 at a time, into what each environment is, with no engine run and no provider load: suffix, stack, region
(from the ARNs in the state), last change (the object's time), resources, the Kubernetes version and node group
sizes, the profile and PR tags, the expiry, protection, a held state lock (the .tflock object) and for how long,
and the monthly estimate of what the state holds.

An environment is tapstack's only when its state has the stack's cluster tagged ManagedBy = tapstack; the others
are foreign, listed and never touched. A state holding resource IDs another state holds is a copy, listed only.
--format json prints one document for scripts and CI matrices (docs/fleet.md). Expiries and lock ages are judged
at --now (default the clock).`,
		Example: `  tapstack envs
  tapstack envs --state-bucket my-tf-states --state-bucket-region eu-west-1
  tapstack envs --format json | jq -c '[.environments[] | select(.class == "ours") | {suffix, region}]'`,
		RunE: func(*cobra.Command, []string) error { return runEnvs(sf, format, s) },
	}
	fs := cmd.Flags()
	sf = addStackFlags(fs, bucketFlags)
	fs.StringVar(&format, "format", "text", "text: a table; json: one document for scripts (docs/fleet.md)")
	return cmd
}

func runEnvs(sf *stackFlags, format string, s stdio) error {
	now, nowErr := parseNow(sf.now)
	cfg, cfgErr := sf.load(s)
	if err := joinInvalid(checkFormat(format), nowErr, cfgErr); err != nil {
		return err
	}
	ctx, stop := commandContext()
	defer stop()
	o, err := fleetOptions(ctx, cfg, now)
	if err != nil {
		return err
	}
	start := time.Now() // clock: a duration
	f, err := lifecycle.Envs(ctx, o)
	if err != nil {
		return fail(exitFailure, "%v", err)
	}
	fmt.Fprintf(s.err, "tapstack: listed %d state objects (%s)\n", len(f.Envs), time.Since(start).Round(10*time.Millisecond))
	if format == "json" {
		return writeJSON(s.out, envsReport{SchemaVersion: fleetSchemaVersion, Command: "envs", Fleet: f})
	}
	writeEnvs(s.out, f)
	return nil
}

// writeEnvs prints the environments tapstack may act on (and the copies) as a table, then the foreign and
// unreadable states with why, then what the estimates could not price.
func writeEnvs(w io.Writer, f *lifecycle.Fleet) {
	fmt.Fprintln(w, fleetLine(f))
	tw := newTable(w)
	fmt.Fprintln(tw, "SUFFIX\tREGION\tLAST CHANGE\tRESOURCES\tK8S\tNODE GROUPS (desired, min-max)\tPROFILE\tPR\tEXPIRES\tPROTECTED\tLOCK\tUSD/MONTH\tNOTE")
	var unpriced, others []string
	for _, e := range f.Envs {
		if e.Class != lifecycle.Ours && e.Class != lifecycle.Copy {
			what := e.Why
			if e.Class == lifecycle.Foreign {
				what = fmt.Sprintf("%s (%s)", e.Why, plural(e.Resources, "resource", "resources"))
			}
			others = append(others, fmt.Sprintf("  %s %s: %s", e.Class, e.Key, what))
			continue
		}
		expires := dash(e.ExpiresAt)
		if e.Expired {
			expires += " (expired)"
		}
		lock := "-"
		if e.Lock != nil {
			lock = "held " + age(e.Lock.AgeSeconds)
		}
		protected := "-"
		if e.Protected {
			protected = "yes"
		}
		note := ""
		if e.Class == lifecycle.Copy {
			note = "copy: shares resource IDs with " + strings.Join(e.Duplicates, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Suffix, dash(e.Region),
			e.LastModified.Format(time.RFC3339), e.Resources, dash(e.KubernetesVersion), nodeGroups(e.NodeGroups),
			dash(e.Profile), dash(e.PRNumber), expires, protected, lock, money(e.Monthly.Low, e.Monthly.High), note)
		for _, u := range e.Monthly.Unpriced {
			unpriced = append(unpriced, fmt.Sprintf("  %s: %s", e.Suffix, u))
		}
	}
	tw.Flush()
	if len(others) > 0 {
		fmt.Fprintln(w, "not tapstack's, never touched:")
		fmt.Fprintln(w, strings.Join(others, "\n"))
	}
	if len(unpriced) > 0 {
		fmt.Fprintln(w, "left out of the estimates (no sourced price):")
		fmt.Fprintln(w, strings.Join(unpriced, "\n"))
	}
}
