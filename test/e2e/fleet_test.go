package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/tapstack/tapstack/internal/fakestate"
	"github.com/tapstack/tapstack/test/e2e/harness"
)

const (
	fleetLiveBucket = "tapstack-e2e-fleet-live" // the deployed environments, versioned
	fleetManyBucket = "tapstack-e2e-fleet-many" // 200 states written by the test, and foreign ones
	fleetDeployNow  = "2026-12-01T00:00:00Z"    // the first deploy: a ttl of 24h expires 2026-12-02T00:00:00Z
	fleetLaterNow   = "2026-12-03T00:00:00Z"    // when envs, drift and gc look: the ttl has passed
	fleetExpiry     = "2026-12-02T00:00:00Z"
	manyStates      = 200
)

// fleetConfig is the smallest environment the default profile allows with node groups: no KMS key, no launch
// templates, no add-ons beyond vpc-cni (without its own role), no Cluster Autoscaler, one node per group.
const fleetConfig = `autoscaling: none
cluster:
  secretsEncryption: false
  logEncryption: false
nodeGroups:
  launchTemplate: false
  onDemand: {instanceTypes: [t3.medium], minSize: 1, desiredSize: 1, maxSize: 2}
  spot: {instanceTypes: [t3.medium], minSize: 1, desiredSize: 1, maxSize: 2}
addons:
  coreDns: false
  kubeProxy: false
  podIdentityAgent: false
  ebsCsiDriver: false
  metricsServer: false
  cloudWatchObservability: false
  vpcCni: {irsa: false}
`

// envsJSON is the part of `tapstack envs --format json` the test reads.
type envsJSON struct {
	SchemaVersion int `json:"schemaVersion"`
	Environments  []struct {
		Key, Class, Why, Suffix, Stack, Region, KubernetesVersion, Profile, PRNumber, ExpiresAt string
		Resources                                                                               int
		Expired, Ephemeral, Protected                                                           bool
		NodeGroups                                                                              []struct {
			Address, CapacityType         string
			MinSize, DesiredSize, MaxSize int
		}
		Lock       *struct{ AgeSeconds int64 }
		Monthly    struct{ Low, High float64 }
		Duplicates []string
	} `json:"environments"`
}

// TestFleet: three small environments deployed at once (two with a ttl that has passed, one also protected),
// listed by envs with what their states record; 200 tapstack-shaped states and foreign ones written by the test
// into a second bucket, all listed correctly; drift --parallel 2 finds the one changed behind the stack's back
// (exit 2); gc --expired lists exactly the two expired ones with the saving, then destroys them in parallel and
// removes their state objects, leaving the protected one, a locked one and the foreign states untouched.
func TestFleet(t *testing.T) {
	t.Parallel()        // its own moto, front, buckets and working copies
	start := time.Now() // clock: the test's duration, logged
	harness.TerraformBinary(t)
	moto := harness.StartMoto(t)
	front := harness.StartFront(t, moto.URL)
	cliConfig := harness.TerraformCLIConfig(t)
	for _, b := range []string{fleetLiveBucket, fleetManyBucket} {
		harness.CreateBucket(t, front.URL, b, harness.Region)
	}
	if _, err := harness.S3Client(front.URL, harness.Region).PutBucketVersioning(testContext(t), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(fleetLiveBucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Fatalf("versioning on %s: %v", fleetLiveBucket, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("moto's log (tail):\n%s", tail(moto.Log(), 60))
		}
		t.Logf("TestFleet took %s", time.Since(start).Round(time.Second))
	})
	wc := newWorkingCopy(t)
	cfg := filepath.Join(wc, "fleet.yaml")
	if err := os.WriteFile(cfg, []byte(fleetConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	stacks := map[string]*deployStack{}
	for _, s := range []string{"flt1", "flt2", "flt3"} {
		stacks[s] = &deployStack{endpoint: front.URL, env: deployEnv(front.URL, cliConfig), bucket: fleetLiveBucket, suffix: s}
	}
	// fleet runs a fleet command in the working copy, expecting exit code want.
	fleet := func(t *testing.T, want int, args ...string) result {
		t.Helper()
		r := stacks["flt1"].tapstack(t, wc, args[0], nil, args...)
		if r.code != want {
			t.Fatalf("tapstack %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want,
				tail(r.stdout, 40), tail(r.stderr, 60))
		}
		return r
	}

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"1_deploy_three_at_once", func(t *testing.T) { fleetDeploy(t, stacks, cfg) }},
		{"2_envs_lists_the_deployed", func(t *testing.T) { fleetEnvsLive(t, stacks, fleet) }},
		{"3_envs_lists_200_and_the_foreign", func(t *testing.T) { fleetEnvsMany(t, front.URL, fleet) }},
		{"4_drift_finds_the_changed_one", func(t *testing.T) { fleetDrift(t, stacks, fleet) }},
		{"5_gc_reaps_the_expired", func(t *testing.T) { fleetGC(t, front.URL, stacks, fleet) }},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			t.Fatalf("step %s failed; the later steps depend on it", s.name)
		}
	}
}

// fleetDeploy deploys the three environments at once, each from its own working copy, with a ttl of 24h at
// fleetDeployNow; flt3 is protected.
func fleetDeploy(t *testing.T, stacks map[string]*deployStack, cfg string) {
	var wg sync.WaitGroup
	results := map[string]result{}
	var mu sync.Mutex
	for s, d := range stacks {
		args := []string{"deploy", "--config", cfg, "--skip-live-checks", "--ttl", "24h", "--now", fleetDeployNow}
		if s == "flt3" {
			args = append(args, "--protect")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := d.tapstack(t, newWorkingCopy(t), "deploy "+s, nil, append(args, d.stackArgs("deploy")...)...)
			mu.Lock()
			results[s] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	for s, r := range results {
		if r.code != 0 {
			t.Errorf("deploy %s: exit %d\n%s", s, r.code, tail(r.stderr, 40))
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for s, d := range stacks {
		st := d.state(t)
		if tags, _ := st.attr("aws_eks_cluster.eks_cluster", "tags_all").(map[string]any); tags["tapstack:expires-at"] != fleetExpiry {
			t.Errorf("%s: the cluster's tags %v lack the expiry %s", s, tags, fleetExpiry)
		}
	}
}

// fleetEnvs runs envs --format json on a bucket at fleetLaterNow and returns the environments by key.
func fleetEnvs(t *testing.T, fleet func(*testing.T, int, ...string) result, bucket string) (envsJSON, result) {
	t.Helper()
	r := fleet(t, 0, "envs", "--format", "json", "--state-bucket", bucket, "--state-bucket-region", harness.Region, "--now", fleetLaterNow)
	var out envsJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.SchemaVersion != 1 {
		t.Fatalf("envs printed no report (%v):\n%s", err, tail(r.stdout, 20))
	}
	return out, r
}

// fleetEnvsLive: envs lists the three deployed environments with what their states record.
func fleetEnvsLive(t *testing.T, stacks map[string]*deployStack, fleet func(*testing.T, int, ...string) result) {
	out, _ := fleetEnvs(t, fleet, fleetLiveBucket)
	if len(out.Environments) != 3 {
		t.Fatalf("%d environments listed, want the 3 deployed", len(out.Environments))
	}
	for _, e := range out.Environments {
		d := stacks[e.Suffix]
		if d == nil || e.Key != d.stateKey() {
			t.Errorf("listed %s (%s), not a deployed environment", e.Key, e.Suffix)
			continue
		}
		st := d.state(t)
		tags, _ := st.attr("aws_eks_cluster.eks_cluster", "tags_all").(map[string]any)
		if e.Class != "ours" || e.Stack != d.name() || e.Region != harness.Region || e.Resources != len(st.managed()) ||
			e.KubernetesVersion != "1.36" || e.Profile != "default" || e.PRNumber != tags["PRNumber"] || e.ExpiresAt != fleetExpiry ||
			!e.Expired || !e.Ephemeral || e.Protected != (e.Suffix == "flt3") || e.Lock != nil {
			t.Errorf("%s listed as %+v (the state holds %d resources)", e.Suffix, e, len(st.managed()))
		}
		if len(e.NodeGroups) != 2 || e.NodeGroups[0].DesiredSize != 1 || e.NodeGroups[0].MinSize != 1 || e.NodeGroups[0].MaxSize != 2 ||
			e.NodeGroups[1].CapacityType != "SPOT" {
			t.Errorf("%s: node groups %+v", e.Suffix, e.NodeGroups)
		}
		// Control plane, one on-demand t3.medium, one spot (nothing up to the on-demand price).
		if e.Monthly.Low != 103.37 || e.Monthly.High != 133.74 {
			t.Errorf("%s: monthly %+v, want 103.37-133.74", e.Suffix, e.Monthly)
		}
	}
}

// manyState is the i-th of the 200 states the test writes: suffixes m000..m199 in two regions, every third
// expired, every fifth protected, every seventh locked.
func manyState(i int) (fakestate.Env, bool) {
	s := fakestate.Env{Suffix: fmt.Sprintf("m%03d", i), Region: []string{"us-east-1", "eu-west-1"}[i%2],
		Tags: map[string]string{"tapstack:expires-at": "2026-12-24T00:00:00Z"}}
	if i%3 == 0 {
		s.Tags["tapstack:expires-at"] = fleetExpiry
	}
	if i%5 == 0 {
		s.Tags["tapstack:protect"] = "true"
	}
	return s, i%7 == 0
}

// writeManyStates writes the 200 states, their locks and a few others into bucket: the original stack's state
// (ManagedBy CDKTF), another project's, an empty one, an object that is no state, and two copies of one state.
func writeManyStates(t testing.TB, endpoint, bucket string) {
	t.Helper()
	c := harness.S3Client(endpoint, harness.Region)
	objects := map[string][]byte{}
	for i := range manyStates {
		s, locked := manyState(i)
		objects[fakestate.Key(s.Suffix)] = s.Raw()
		if locked {
			objects[fakestate.Key(s.Suffix)+".tflock"] = []byte(`{"ID":"lock","Operation":"OperationTypeApply"}`)
		}
	}
	objects[fakestate.Key("dev")] = fakestate.Env{Suffix: "dev", ManagedBy: "CDKTF"}.Raw()
	objects["billing/prod/terraform.tfstate"] = fakestate.Env{Suffix: "billing", NoCluster: true}.Raw()
	objects[fakestate.Key("gone")] = fakestate.Empty("gone")
	objects["notes/terraform.tfstate"] = []byte("this is not a state")
	objects[fakestate.Key("cpa")] = fakestate.Env{Suffix: "cpa", VPC: "vpc-copied"}.Raw()
	objects[fakestate.Key("cpb")] = fakestate.Env{Suffix: "cpb", VPC: "vpc-copied"}.Raw()
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(8)
	for k, body := range objects {
		g.Go(func() error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader(body)})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("writing the states into %s: %v", bucket, err)
	}
}

// fleetEnvsMany: envs lists every one of the 200 states as what the test wrote, and the others by class.
func fleetEnvsMany(t *testing.T, endpoint string, fleet func(*testing.T, int, ...string) result) {
	writeManyStates(t, endpoint, fleetManyBucket)
	out, r := fleetEnvs(t, fleet, fleetManyBucket)
	t.Logf("envs listed and read %d state objects in %s (the whole command, a process and a provider-free read)", len(out.Environments), r.took)
	byKey := map[string]int{}
	for i, e := range out.Environments {
		byKey[e.Key] = i
	}
	if len(out.Environments) != manyStates+6 {
		t.Errorf("%d state objects listed, want %d", len(out.Environments), manyStates+6)
	}
	wrong := 0
	for i := range manyStates {
		s, locked := manyState(i)
		j, ok := byKey[fakestate.Key(s.Suffix)]
		if !ok {
			t.Errorf("%s not listed", s.Suffix)
			continue
		}
		e := out.Environments[j]
		if e.Class != "ours" || e.Suffix != s.Suffix || e.Region != s.Region || e.Expired != (i%3 == 0) ||
			e.ExpiresAt != s.Tags["tapstack:expires-at"] || e.Protected != (i%5 == 0) || (e.Lock != nil) != locked ||
			e.Resources != 6 || len(e.NodeGroups) != 2 || e.NodeGroups[0].DesiredSize != 2 || e.PRNumber != "4"+s.Suffix {
			if wrong++; wrong <= 5 {
				t.Errorf("%s listed as %+v", s.Suffix, e)
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of the %d states listed wrong", wrong, manyStates)
	}
	for key, class := range map[string]string{fakestate.Key("dev"): "foreign", "billing/prod/terraform.tfstate": "foreign",
		fakestate.Key("gone"): "foreign", "notes/terraform.tfstate": "unreadable", fakestate.Key("cpa"): "copy", fakestate.Key("cpb"): "copy"} {
		j, ok := byKey[key]
		if !ok || out.Environments[j].Class != class {
			t.Errorf("%s: listed %v as %+v, want %s", key, ok, out.Environments[j], class)
		}
	}
	// The text names the foreign ones and never lists them with the environments.
	r = fleet(t, 0, "envs", "--state-bucket", fleetManyBucket, "--state-bucket-region", harness.Region, "--now", fleetLaterNow)
	for _, want := range []string{"200 environments of tapstack's, 2 copies, 3 foreign states, 1 unreadable state",
		"foreign TapStackdev/dev/terraform.tfstate: the cluster's ManagedBy tag is \"CDKTF\", not \"tapstack\""} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("envs text lacks %q:\n%s", want, tail(r.stdout, 20))
		}
	}
}

// fleetDrift: the log group of flt2 gets another retention behind the stack's back; drift --parallel 2 reports
// it, and only it, and exits 2.
func fleetDrift(t *testing.T, stacks map[string]*deployStack, fleet func(*testing.T, int, ...string) result) {
	d := stacks["flt2"]
	group := "/aws/eks/" + d.cluster() + "/cluster"
	if _, err := logsAPI(d.endpoint).PutRetentionPolicy(testContext(t), &cloudwatchlogs.PutRetentionPolicyInput{
		LogGroupName: aws.String(group), RetentionInDays: aws.Int32(7)}); err != nil {
		t.Fatalf("changing the retention of %s: %v", group, err)
	}
	cache := filepath.Join(newWorkingCopy(t), "cache")
	r := fleet(t, 2, "drift", "--parallel", "2", "--format", "json", "--state-bucket", fleetLiveBucket,
		"--state-bucket-region", harness.Region, "--cache-dir", cache)
	var out struct {
		Environments []struct {
			Suffix, Status, Error string
			Changes               []struct {
				Address, Action string
				Attributes      []struct {
					Name          string
					Before, After any
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("drift printed no report (%v):\n%s", err, r.stdout)
	}
	t.Logf("drift --parallel 2 of three environments took %s:\n%s", r.took, r.stdout)
	status := map[string]string{}
	for _, e := range out.Environments {
		status[e.Suffix] = e.Status
		if e.Suffix != "flt2" {
			continue
		}
		found := false
		for _, c := range e.Changes {
			for _, a := range c.Attributes {
				if c.Address == "aws_cloudwatch_log_group.eks_cluster_log_group" && c.Action == "update" && a.Name == "retention_in_days" &&
					fmt.Sprint(a.Before) == "30" && fmt.Sprint(a.After) == "7" {
					found = true
				}
			}
		}
		if !found || len(e.Changes) != 1 {
			t.Errorf("flt2's drift %+v, want only the log group's retention 30 -> 7", e.Changes)
		}
	}
	if want := map[string]string{"flt1": "in-sync", "flt2": "drifted", "flt3": "in-sync"}; !maps.Equal(status, want) {
		t.Errorf("drift: %v, want %v", status, want)
	}

	// Again, as text: the working copies are reused, so no init runs; the table says the same.
	r = fleet(t, 2, "drift", "--parallel", "2", "--state-bucket", fleetLiveBucket, "--state-bucket-region", harness.Region,
		"--cache-dir", cache)
	t.Logf("drift again, with the working copies of the first, took %s:\n%s", r.took, r.stdout)
	for _, want := range []string{"3 environments checked: 2 in sync, 1 drifted, 0 failed", "flt1    us-east-1  in sync",
		"flt2    us-east-1  drifted  changed outside Terraform:", "aws_cloudwatch_log_group.eks_cluster_log_group: retention_in_days 30 -> 7"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("drift's text lacks %q", want)
		}
	}
	for _, s := range []string{"flt1", "flt2", "flt3"} {
		log, err := os.ReadFile(filepath.Join(cache, "drift", fleetLiveBucket, s, "drift.log"))
		if err != nil || strings.Contains(string(log), "Initializing provider plugins") || !strings.Contains(string(log), "Refreshing state") {
			t.Errorf("%s: the second drift ran init again, or no refresh (%v):\n%s", s, err, tail(string(log), 10))
		}
	}
}

// fleetGC: beside the three, the live bucket gets an expired environment whose state lock is held and two
// foreign states (one with an expired tag). gc --expired lists exactly flt1 and flt2 with their saving, then with
// --yes destroys both at once and removes their state objects (their versions stay); everything else stays.
func fleetGC(t *testing.T, endpoint string, stacks map[string]*deployStack, fleet func(*testing.T, int, ...string) result) {
	c := harness.S3Client(endpoint, harness.Region)
	ctx := testContext(t)
	others := map[string][]byte{
		fakestate.Key("lck1"):             fakestate.Env{Suffix: "lck1", Tags: map[string]string{"tapstack:expires-at": fleetExpiry}}.Raw(),
		fakestate.Key("lck1") + ".tflock": []byte(`{"ID":"held","Operation":"OperationTypeApply"}`),
		fakestate.Key("orig"):             fakestate.Env{Suffix: "orig", ManagedBy: "CDKTF", Tags: map[string]string{"tapstack:expires-at": fleetExpiry}}.Raw(),
		"platform/terraform.tfstate":      fakestate.Env{Suffix: "platform", NoCluster: true}.Raw(),
	}
	for k, body := range others {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(fleetLiveBucket), Key: aws.String(k), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	out, _ := fleetEnvs(t, fleet, fleetLiveBucket)
	low, high := 0.0, 0.0
	for _, e := range out.Environments {
		if e.Suffix == "flt1" || e.Suffix == "flt2" {
			low, high = low+e.Monthly.Low, high+e.Monthly.High
		}
	}
	args := []string{"gc", "--expired", "--state-bucket", fleetLiveBucket, "--state-bucket-region", harness.Region,
		"--now", fleetLaterNow, "--cache-dir", filepath.Join(newWorkingCopy(t), "cache")}

	dry := fleet(t, 0, args...)
	t.Logf("gc --expired (dry run):\n%s", dry.stdout)
	if want := fmt.Sprintf("would destroy 2 environments, saving %.2f-%.2f USD a month:", low, high); !strings.Contains(dry.stdout, want) {
		t.Errorf("the dry run lacks %q", want)
	}
	if got := gcRows(dry.stdout); !slices.Equal(got, []string{"flt1", "flt2"}) {
		t.Errorf("the dry run would destroy %v, want exactly flt1 and flt2", got)
	}
	for _, want := range []string{"protected (tapstack:protect = true)", "its state lock is held", "foreign: the cluster's ManagedBy tag is \"CDKTF\""} {
		if !strings.Contains(dry.stdout, want) {
			t.Errorf("the dry run does not say it spares %q", want)
		}
	}
	before := bucketKeys(t, endpoint)
	if !slices.Contains(before, stacks["flt1"].stateKey()) {
		t.Fatalf("the dry run changed the bucket: %v", before)
	}

	r := fleet(t, 0, append(args, "--yes", "--parallel", "2")...)
	t.Logf("gc --expired --yes --parallel 2 took %s:\n%s", r.took, r.stdout)
	if want := fmt.Sprintf("destroyed 2 of 2 environments selected, saving %.2f-%.2f USD a month:", low, high); !strings.Contains(r.stdout, want) {
		t.Errorf("gc --yes: %s", r.stdout)
	}
	if !overlap(r.stderr, "[flt1] ", "[flt2] ") {
		t.Errorf("the two destroys did not run at once:\n%s", tail(r.stderr, 40))
	}
	after := bucketKeys(t, endpoint)
	for _, k := range []string{stacks["flt1"].stateKey(), stacks["flt2"].stateKey()} {
		if slices.Contains(after, k) {
			t.Errorf("the state object %s is still there", k)
		}
		v, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(fleetLiveBucket), Prefix: aws.String(k)})
		if err != nil || len(v.Versions) == 0 || len(v.DeleteMarkers) == 0 {
			t.Errorf("%s: the versioned bucket keeps no history (%v): %d versions, %d delete markers", k, err, len(v.Versions), len(v.DeleteMarkers))
		}
	}
	var untouched []string
	for _, k := range before {
		if k != stacks["flt1"].stateKey() && k != stacks["flt2"].stateKey() {
			untouched = append(untouched, k)
		}
	}
	if !slices.Equal(after, untouched) {
		t.Errorf("after gc the bucket holds %v, want everything but the two reaped states: %v", after, untouched)
	}
	for s, d := range stacks {
		_, err := eksAPI(endpoint).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(d.cluster())})
		if gone := err != nil; gone != (s != "flt3") {
			t.Errorf("cluster %s after gc: %v", d.cluster(), err)
		}
	}
	if logGroupExists(t, endpoint, "/aws/eks/"+stacks["flt1"].cluster()+"/cluster") {
		t.Error("flt1's control-plane log group is still there")
	}
}

// gcRows are the suffixes of gc's table of selected environments.
func gcRows(out string) []string {
	var rows []string
	in := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "SUFFIX "):
			in = true
		case in && (line == "" || !strings.Contains(line, "  ")):
			in = false
		case in:
			rows = append(rows, strings.Fields(line)[0])
		}
	}
	return rows
}

// overlap reports whether lines with prefix a and lines with prefix b interleave: each started before the
// other's last line.
func overlap(log, a, b string) bool {
	firstA, lastA := strings.Index(log, a), strings.LastIndex(log, a)
	firstB, lastB := strings.Index(log, b), strings.LastIndex(log, b)
	return firstA >= 0 && firstB >= 0 && firstA < lastB && firstB < lastA
}

// bucketKeys lists the live bucket's keys, sorted.
func bucketKeys(t *testing.T, endpoint string) []string {
	t.Helper()
	out, err := harness.S3Client(endpoint, harness.Region).ListObjectsV2(testContext(t), &s3.ListObjectsV2Input{Bucket: aws.String(fleetLiveBucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	sort.Strings(keys)
	return keys
}
