package main

import (
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/pkg/versions"
)

func init() { register(newVersionsCommand) }

func newVersionsCommand(s stdio) *cobra.Command {
	var date, format string
	cmd := &cobra.Command{
		Use:   "versions",
		Short: "print the EKS version calendar and each version's status",
		Long: `versions prints the EKS Kubernetes version calendar of the version data (pkg/versions/data/eks.json): each
version's release, end of standard and end of extended support, and its status on a day (--date, default today,
UTC); then the vpc-cni builds upstream recommends and the data's sources.`,
		Example: `  tapstack versions
  tapstack versions --date 2026-12-01 --format json`,
		RunE: func(*cobra.Command, []string) error { return runVersions(date, format, s) },
	}
	cmd.Flags().StringVar(&date, "date", "", "day to report the status on, YYYY-MM-DD (default today, UTC)")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}

func runVersions(date, format string, s stdio) error {
	day, err := parseDate(date)
	if err != nil {
		return err
	}
	d := versions.Get()
	type row struct {
		versions.Kubernetes
		Status versions.Status `json:"status"`
	}
	rows := make([]row, 0, len(d.Kubernetes))
	for _, k := range d.Kubernetes {
		rows = append(rows, row{k, d.StatusOn(k.Version, day)})
	}
	if format == "json" {
		return writeJSON(s.out, map[string]any{
			"date": day.String(), "checked": d.Checked, "default": d.DefaultKubernetesVersion, "kubernetes": rows,
			"vpcCni": d.VPCCNI, "sources": d.Sources,
		})
	}
	if format != "text" {
		return fail(exitInvalid, "--format: %q is not text or json", format)
	}
	fmt.Fprintf(s.out, "EKS Kubernetes versions on %s (data checked %s; default %s)\n\n", day, d.Checked, d.DefaultKubernetesVersion)
	tw := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tRELEASED\tEND OF STANDARD\tEND OF EXTENDED\tSTATUS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Version, r.Released, r.EndOfStandard, r.EndOfExtended, r.Status)
	}
	_ = tw.Flush()
	fmt.Fprintf(s.out, "\nvpc-cni: latest upstream %s (seen %s); recommended minimum per Kubernetes version:\n", d.VPCCNI.LatestUpstream, d.VPCCNI.LatestUpstreamSeen)
	for _, m := range d.VPCCNI.RecommendedMinimum {
		fmt.Fprintf(s.out, "  %s: %s or newer\n", m.Kubernetes, m.Version)
	}
	fmt.Fprintln(s.out, "\nsources:")
	keys := make([]string, 0, len(d.Sources))
	for k := range d.Sources {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(s.out, "  %s: %s\n", k, d.Sources[k])
	}
	return nil
}
