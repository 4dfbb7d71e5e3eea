package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/tapstack/tapstack/internal/fakes3"
	"github.com/tapstack/tapstack/internal/fakestate"
	"github.com/tapstack/tapstack/pkg/stack"
)

// fleetNow is the moment the fleet tests judge expiries and locks against.
var fleetNow = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func fleetOptions(b *fakes3.Bucket) FleetOptions {
	return FleetOptions{Bucket: b.Name, BucketRegion: "us-east-1", S3: b, Now: fleetNow}
}

func envByKey(t *testing.T, f *Fleet, key string) *Env {
	t.Helper()
	for _, e := range f.Envs {
		if e.Key == key {
			return e
		}
	}
	t.Fatalf("no environment %s in %d listed", key, len(f.Envs))
	return nil
}

// A bucket as a team's shared one holds it: tapstack's environments, the original CDKTF stack's (same layout,
// no ManagedBy = tapstack), another project's state, an empty state, a state that is not one, a copy of one of
// ours, a lock, and an object that is no state. Each is listed with what its state records.
func TestEnvsClassifies(t *testing.T) {
	b := &fakes3.Bucket{Name: "states"}
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	b.Put(fakestate.Key("pr1"), fakestate.Env{Suffix: "pr1", Region: "eu-west-1",
		Tags: map[string]string{stack.TagExpiresAt: "2026-12-02T00:00:00Z"}}.Raw(), at)
	b.Put(fakestate.Key("pr2"), fakestate.Env{Suffix: "pr2", Tags: map[string]string{stack.TagProtect: "true",
		stack.TagExpiresAt: "2026-12-24T00:00:00Z"}}.Raw(), at.Add(time.Hour))
	b.Put(fakestate.Key("pr2")+".tflock", []byte(`{"ID":"x"}`), fleetNow.Add(-90*time.Second))
	b.Put(fakestate.Key("orig"), fakestate.Env{Suffix: "orig", ManagedBy: "CDKTF"}.Raw(), at)
	b.Put("other-project/prod/terraform.tfstate", fakestate.Env{Suffix: "other", NoCluster: true}.Raw(), at)
	b.Put(fakestate.Key("gone"), fakestate.Empty("gone"), at)
	b.Put(fakestate.Key("junk"), []byte("not a state"), at)
	b.Put(fakestate.Key("cp1"), fakestate.Env{Suffix: "cp1", VPC: "vpc-shared"}.Raw(), at)
	b.Put(fakestate.Key("cp2"), fakestate.Env{Suffix: "cp2", VPC: "vpc-shared"}.Raw(), at)
	b.Put("README.txt", []byte("hello"), at)

	f, err := Envs(context.Background(), fleetOptions(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Envs) != 8 {
		t.Fatalf("%d environments, want the 8 state objects", len(f.Envs))
	}
	pr1 := envByKey(t, f, fakestate.Key("pr1"))
	if pr1.Class != Ours || pr1.Suffix != "pr1" || pr1.Stack != "TapStackpr1" || pr1.Region != "eu-west-1" ||
		pr1.Resources != 6 || pr1.KubernetesVersion != "1.36" || pr1.Profile != "default" || pr1.PRNumber != "4pr1" ||
		!pr1.Expired || !pr1.Ephemeral || pr1.Protected || pr1.Lock != nil || !pr1.LastModified.Equal(at) {
		t.Errorf("pr1: %+v", pr1)
	}
	if len(pr1.NodeGroups) != 2 || !reflect.DeepEqual(pr1.NodeGroups[0], EnvNodeGroup{Address: "aws_eks_node_group.on_demand_node_group",
		Name: "node-group-od-v1-pr1", CapacityType: "ON_DEMAND", InstanceTypes: []string{"t3.medium"}, MinSize: 1, DesiredSize: 2, MaxSize: 3}) ||
		pr1.NodeGroups[1].CapacityType != "SPOT" {
		t.Errorf("pr1 node groups: %+v", pr1.NodeGroups)
	}
	// The version data has no t3.medium price in eu-west-1: the node groups are named, not priced.
	if pr1.Monthly.Currency != "USD" || pr1.Monthly.Low != 73 || pr1.Monthly.High != 73 || !slices.Equal(pr1.Monthly.Unpriced,
		[]string{"node-group-od-v1-pr1: 2 x t3.medium on-demand", "node-group-spot-v1-pr1: 1 x t3.medium spot"}) {
		t.Errorf("pr1 estimate %+v", pr1.Monthly)
	}
	pr2 := envByKey(t, f, fakestate.Key("pr2"))
	// us-east-1: control plane 73, two t3.medium on demand 60.74, one spot 0 to 30.37 (164.104 in all).
	if pr2.Monthly.Low != 133.74 || pr2.Monthly.High != 164.1 || len(pr2.Monthly.Unpriced) != 0 {
		t.Errorf("pr2 estimate %+v", pr2.Monthly)
	}
	if pr2.Class != Ours || !pr2.Protected || pr2.Expired || pr2.Lock == nil || pr2.Lock.AgeSeconds != 90 {
		t.Errorf("pr2: %+v lock %+v", pr2, pr2.Lock)
	}
	for key, want := range map[string]string{
		fakestate.Key("orig"):                  `the cluster's ManagedBy tag is "CDKTF", not "tapstack"`,
		"other-project/prod/terraform.tfstate": "no aws_eks_cluster.eks_cluster",
		fakestate.Key("gone"):                  "the state holds no resources",
	} {
		if e := envByKey(t, f, key); e.Class != Foreign || e.Why != want {
			t.Errorf("%s: %s %q, want foreign %q", key, e.Class, e.Why, want)
		}
	}
	if e := envByKey(t, f, fakestate.Key("junk")); e.Class != Unreadable || !strings.Contains(e.Why, "not a state tapstack can read") {
		t.Errorf("junk: %s %q", e.Class, e.Why)
	}
	for _, pair := range [][2]string{{"cp1", "cp2"}, {"cp2", "cp1"}} {
		e := envByKey(t, f, fakestate.Key(pair[0]))
		if e.Class != Copy || !slices.Equal(e.Duplicates, []string{fakestate.Key(pair[1])}) || !strings.Contains(e.Why, "a copy") || e.Acting() {
			t.Errorf("%s: %s %q duplicates %v", pair[0], e.Class, e.Why, e.Duplicates)
		}
	}
	if f.Count(Ours) != 2 || f.Count(Foreign) != 3 || f.Count(Copy) != 2 || f.Count(Unreadable) != 1 {
		t.Errorf("counts: ours %d foreign %d copy %d unreadable %d", f.Count(Ours), f.Count(Foreign), f.Count(Copy), f.Count(Unreadable))
	}
	// Same bucket, same now: the same JSON, byte for byte.
	again, err := Envs(context.Background(), fleetOptions(b))
	if err != nil {
		t.Fatal(err)
	}
	j1, _ := json.Marshal(f)
	j2, _ := json.Marshal(again)
	if string(j1) != string(j2) {
		t.Error("two listings of the same bucket differ")
	}
}

// 200 states over pages of 7 keys are all listed and read, at most Reads at a time and more than one at once.
func TestEnvsPagesAndBoundsReads(t *testing.T) {
	b := &fakes3.Bucket{Name: "states", PageSize: 7, Delay: 2 * time.Millisecond}
	for i := range 200 {
		s := fmt.Sprintf("p%03d", i)
		b.Put(fakestate.Key(s), fakestate.Env{Suffix: s}.Raw(), fleetNow.Add(-time.Duration(i)*time.Hour))
	}
	o := fleetOptions(b)
	o.Reads = 4
	f, err := Envs(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Envs) != 200 || f.Count(Ours) != 200 {
		t.Fatalf("%d listed, %d ours; want 200", len(f.Envs), f.Count(Ours))
	}
	if n := b.Calls("ListObjectsV2"); n != 29 {
		t.Errorf("%d listing calls, want 29 pages of 7", n)
	}
	if b.MaxInFlight > 4 || b.MaxInFlight < 2 {
		t.Errorf("%d reads at once, want between 2 and the limit of 4", b.MaxInFlight)
	}
}

// A listing that fails is an error; a state that cannot be read is listed as unreadable and the rest go on.
func TestEnvsFailures(t *testing.T) {
	b := &fakes3.Bucket{Name: "states", Fail: map[string]error{}}
	b.Put(fakestate.Key("a"), fakestate.Env{Suffix: "a"}.Raw(), fleetNow)
	b.Put(fakestate.Key("b"), fakestate.Env{Suffix: "b"}.Raw(), fleetNow)
	b.Fail["GetObject "+fakestate.Key("a")] = &smithy.GenericAPIError{Code: "AccessDenied", Message: "kms:Decrypt"}
	f, err := Envs(context.Background(), fleetOptions(b))
	if err != nil {
		t.Fatal(err)
	}
	if a := envByKey(t, f, fakestate.Key("a")); a.Class != Unreadable || !strings.Contains(a.Why, "s3:GetObject") {
		t.Errorf("a: %s %q", a.Class, a.Why)
	}
	if envByKey(t, f, fakestate.Key("b")).Class != Ours {
		t.Error("b was not read")
	}
	b.Fail["ListObjectsV2"] = &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}
	if _, err := Envs(context.Background(), fleetOptions(b)); err == nil || !strings.Contains(err.Error(), "s3:ListObjectsV2") {
		t.Errorf("listing failure: %v", err)
	}
}
