package stack

import (
	"slices"
	"strings"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

// The expiry is now plus the ttl at the first deploy, to the second in UTC; once the state records one, every
// later build keeps it whatever the clock says, and notes that it did.
func TestExpiryRecordedOnce(t *testing.T) {
	c, _ := config.Defaults("default")
	c.TTL = "72h"
	first := time.Date(2026, 12, 1, 9, 30, 15, 999, time.FixedZone("CET", 3600))
	s := Build(&c, Options{Now: first})
	tags := tagsOf(t, s)
	if tags[TagExpiresAt] != "2026-12-04T08:30:15Z" || tags[TagEphemeral] != "true" {
		t.Fatalf("first deploy: tags %v, want expiry 2026-12-04T08:30:15Z and ephemeral", tags)
	}
	if slices.ContainsFunc(s.Notes, func(n string) bool { return strings.Contains(n, "expiry") }) {
		t.Errorf("a new expiry is no kept value: notes %v", s.Notes)
	}

	// The state written by that deploy gives the expiry back; a plan a day later keeps it.
	st := &tfjson.State{Values: &tfjson.StateValues{RootModule: &tfjson.StateModule{Resources: []*tfjson.StateResource{
		{Address: "aws_vpc.vpc", Mode: tfjson.ManagedResourceMode, Type: "aws_vpc",
			AttributeValues: map[string]any{"tags_all": map[string]any{TagExpiresAt: "2026-12-04T08:30:15Z"}}},
		{Address: ClusterAddress, Mode: tfjson.ManagedResourceMode, Type: "aws_eks_cluster",
			AttributeValues: map[string]any{"tags_all": map[string]any{TagExpiresAt: "2026-12-04T08:30:15Z", TagManagedBy: "tapstack"}}},
	}}}}
	ex := ExistingFrom(st)
	if ex.ExpiresAt != "2026-12-04T08:30:15Z" {
		t.Fatalf("ExistingFrom: expiry %q", ex.ExpiresAt)
	}
	later := Build(&c, Options{Now: first.Add(24 * time.Hour), Existing: ex})
	if got := tagsOf(t, later)[TagExpiresAt]; got != "2026-12-04T08:30:15Z" {
		t.Errorf("a day later: expiry %q, want the recorded one", got)
	}
	if !slices.ContainsFunc(later.Notes, func(n string) bool { return strings.HasPrefix(n, "kept expiry 2026-12-04T08:30:15Z") }) {
		t.Errorf("no note of the kept expiry: %v", later.Notes)
	}
	// Another ttl does not move a recorded expiry either.
	c.TTL = "1h"
	if got := tagsOf(t, Build(&c, Options{Now: first, Existing: ex}))[TagExpiresAt]; got != "2026-12-04T08:30:15Z" {
		t.Errorf("ttl changed: expiry %q", got)
	}
	// Without a ttl there is no expiry, recorded or not.
	c.TTL = ""
	if got := tagsOf(t, Build(&c, Options{Now: first, Existing: ex})); got[TagExpiresAt] != "" || got[TagEphemeral] != "" {
		t.Errorf("no ttl: tags %v", got)
	}
}

// Build reads no clock: without Now, a new environment gets no expiry; with an invalid ttl none either (TS118
// refuses it).
func TestExpiryNeedsNowAndAValidTTL(t *testing.T) {
	c, _ := config.Defaults("default")
	c.TTL = "72h"
	if got := tagsOf(t, Build(&c, Options{}))[TagExpiresAt]; got != "" {
		t.Errorf("no Now: expiry %q", got)
	}
	c.TTL = "soon"
	if got := tagsOf(t, Build(&c, Options{Now: time.Unix(0, 0)}))[TagExpiresAt]; got != "" {
		t.Errorf("invalid ttl: expiry %q", got)
	}
}

// ExistingFrom prefers the cluster's expiry and falls back on any resource's, from tags_all or tags.
func TestExistingReadsTheExpiry(t *testing.T) {
	r := func(addr string, attr string, v string) *tfjson.StateResource {
		typ, _, _ := strings.Cut(addr, ".")
		return &tfjson.StateResource{Address: addr, Mode: tfjson.ManagedResourceMode, Type: typ,
			AttributeValues: map[string]any{attr: map[string]any{TagExpiresAt: v}}}
	}
	st := func(rs ...*tfjson.StateResource) *tfjson.State {
		return &tfjson.State{Values: &tfjson.StateValues{RootModule: &tfjson.StateModule{Resources: rs}}}
	}
	if got := ExistingFrom(st(r("aws_vpc.vpc", "tags", "A"), r(ClusterAddress, "tags_all", "B"), r("aws_subnet.s", "tags_all", "C"))).ExpiresAt; got != "B" {
		t.Errorf("cluster's expiry: %q, want B", got)
	}
	if got := ExistingFrom(st(r("aws_vpc.vpc", "tags", "A"), r("aws_subnet.s", "tags_all", "C"))).ExpiresAt; got != "A" {
		t.Errorf("no cluster: %q, want the first resource's A", got)
	}
}

func TestProtectAndProfileTags(t *testing.T) {
	c, _ := config.Defaults("default")
	c.Protect = true
	tags := tagsOf(t, Build(&c, Options{}))
	if tags[TagProtect] != "true" || tags[TagProfile] != "default" || tags[TagManagedBy] != "tapstack" {
		t.Errorf("tags %v", tags)
	}
	// Profile original reproduces the original's tags: no ManagedBy, so no profile either.
	o, _ := config.Defaults("original")
	if tags := tagsOf(t, Build(&o, Options{})); tags[TagProfile] != "" || tags[TagProtect] != "" {
		t.Errorf("original: tags %v", tags)
	}
	for v, want := range map[string]bool{"true": true, "TRUE": true, "1": true, "false": false, "": false, "yes": false} {
		if ParseTagBool(v) != want {
			t.Errorf("ParseTagBool(%q) = %v", v, !want)
		}
	}
}

func tagsOf(t *testing.T, s *Stack) map[string]string {
	t.Helper()
	p := s.Doc.Providers["aws"][0]
	return p["default_tags"].([]tfdoc.Body)[0]["tags"].(map[string]string)
}
