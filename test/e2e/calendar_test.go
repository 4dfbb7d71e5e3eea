package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/versions"
	"github.com/tapstack/tapstack/test/e2e/harness"
)

// TestCalendarAgainstTheFront holds the product's version data to the front's calendar, two sources kept apart on
// purpose: on the pinned day they agree for every version EKS offers, and a wrong date in the product's data shows
// as a TS809 disagreement.
func TestCalendarAgainstTheFront(t *testing.T) {
	t.Parallel()
	front := harness.StartFront(t, harness.StartMoto(t).URL)
	clients := &live.Clients{EKS: eksAPI(front.URL)}
	day, err := versions.ParseDate(harness.TestDay)
	if err != nil {
		t.Fatal(err)
	}
	ts809 := func(data *versions.Data, version string) live.Result {
		t.Helper()
		cfg, ok := config.Defaults("default")
		if !ok {
			t.Fatal("no default profile")
		}
		cfg.Cluster.KubernetesVersion = version
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		r := live.Run(ctx, clients, live.Input{Config: &cfg, Date: day, Data: data}, live.Options{Only: []string{"TS809"}})
		if len(r.Results) != 1 || r.Results[0].Status == live.StatusError {
			t.Fatalf("TS809 for %s: %+v", version, r.Results)
		}
		return r.Results[0]
	}
	for _, v := range []string{"1.32", "1.33", "1.34", "1.35", "1.36"} {
		if res := ts809(versions.Get(), v); strings.Contains(res.Note, "the version data says") {
			t.Errorf("Kubernetes %s: the product's data and the front's calendar disagree on %s: %s", v, harness.TestDay, res.Note)
		}
	}

	// The same data with 1.33's end of standard support moved past the day: TS809 names the disagreement.
	wrong := *versions.Get()
	wrong.Kubernetes = append([]versions.Kubernetes(nil), wrong.Kubernetes...)
	for i := range wrong.Kubernetes {
		if wrong.Kubernetes[i].Version == "1.33" {
			wrong.Kubernetes[i].EndOfStandard, _ = versions.ParseDate("2026-12-15")
		}
	}
	res := ts809(&wrong, "1.33")
	if !strings.Contains(res.Note, "Kubernetes 1.33: extended-support") ||
		!strings.Contains(res.Note, "the version data says standard on 2026-12-01 (update pkg/versions/data/eks.json") {
		t.Errorf("a wrong end of standard support is not reported: %s", res.Note)
	}
}
