package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tapstack/tapstack/internal/lifecycle"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
)

// fleetSchemaVersion is the version of the fleet commands' JSON (docs/fleet.md). A change that removes or renames
// a field raises it.
const fleetSchemaVersion = 1

// locatesBucket selects the settings that say which state bucket the fleet commands read: its name and region.
func locatesBucket(s config.Setting) bool {
	return s.Path == "state.bucket" || s.Path == "state.region"
}

// newBucketClient reaches the state bucket; tests replace it with a bucket in memory.
var newBucketClient = func(ctx context.Context, region string) (live.StateBucketAPI, error) {
	return live.NewStateBucketClient(ctx, region)
}

// fleetOptions reaches the bucket the configuration names (sf.load resolves it from --config, the flags and the
// environment).
func fleetOptions(ctx context.Context, cfg *config.Config, now time.Time) (lifecycle.FleetOptions, error) {
	c, err := newBucketClient(ctx, cfg.State.Region)
	if err != nil {
		return lifecycle.FleetOptions{}, fail(exitFailure, "%v", err)
	}
	return lifecycle.FleetOptions{Bucket: cfg.State.Bucket, BucketRegion: cfg.State.Region, S3: c, Now: now}, nil
}

// fleetLine is the first line of a fleet command's text: the bucket, the moment and what it holds.
func fleetLine(f *lifecycle.Fleet) string {
	return fmt.Sprintf("s3://%s (%s) at %s: %s of tapstack's, %s, %s, %s", f.Bucket, f.BucketRegion,
		f.Now.Format(time.RFC3339), plural(f.Count(lifecycle.Ours), "environment", "environments"),
		plural(f.Count(lifecycle.Copy), "copy", "copies"), plural(f.Count(lifecycle.Foreign), "foreign state", "foreign states"),
		plural(f.Count(lifecycle.Unreadable), "unreadable state", "unreadable states"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// money is a monthly range in dollars: one figure when low and high agree.
func money(low, high float64) string {
	if low == high {
		return fmt.Sprintf("%.2f", low)
	}
	return fmt.Sprintf("%.2f-%.2f", low, high)
}

// age is a duration in whole seconds, as 1h2m3s.
func age(seconds int64) string { return (time.Duration(seconds) * time.Second).String() }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// nodeGroups shows each node group as its address's name without _node_group, its desired size and its range.
func nodeGroups(ngs []lifecycle.EnvNodeGroup) string {
	var parts []string
	for _, ng := range ngs {
		name := ng.Address[strings.LastIndex(ng.Address, ".")+1:]
		parts = append(parts, fmt.Sprintf("%s %d (%d-%d)", strings.TrimSuffix(name, "_node_group"), ng.DesiredSize, ng.MinSize, ng.MaxSize))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// table aligns tab-separated cells in columns two spaces apart; Flush writes the lines without trailing blanks.
type table struct {
	w   io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
}

func newTable(w io.Writer) *table {
	t := &table{w: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

func (t *table) Write(p []byte) (int, error) { return t.tw.Write(p) }

func (t *table) Flush() {
	_ = t.tw.Flush()
	for _, line := range strings.SplitAfter(t.buf.String(), "\n") {
		if line != "" {
			fmt.Fprint(t.w, strings.TrimRight(line, " \n")+"\n")
		}
	}
	t.buf.Reset()
}
