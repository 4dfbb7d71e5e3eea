package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tapstack/tapstack/test/e2e/harness"
)

const interruptBucket = "tapstack-e2e-interrupt-state"

// stopLimit is how long tapstack may take to exit after the signal: Terraform stops its provider calls, saves
// the state and releases the lock, all against the emulator.
const stopLimit = 3 * time.Minute

// TestInterruptedDeploy is issue 12's Ctrl-C: a deploy interrupted while Terraform waits for the cluster (SIGINT,
// then a second one while it stops), then one interrupted while Terraform refreshes (SIGTERM), each sent to the
// tapstack process alone. Each time tapstack waits for Terraform, exits non-zero and says what it left; the state
// is whole and unlocked, and a plain deploy then finishes the environment, keeping the cluster AWS went on
// creating.
func TestInterruptedDeploy(t *testing.T) {
	t.Parallel()        // each test has its own moto, front, bucket and working copy
	start := time.Now() // clock: the test's duration, logged
	defer func() { t.Logf("TestInterruptedDeploy took %s", time.Since(start).Round(time.Second)) }()
	harness.TerraformBinary(t)
	moto := harness.StartMoto(t)
	front := harness.StartFront(t, moto.URL)
	harness.CreateBucket(t, front.URL, interruptBucket, harness.Region)
	// The cluster stays CREATING well past Terraform's "Still creating..." lines (every 10 s), as EKS's do for
	// minutes, so the signal lands while Terraform waits for it even on a loaded machine.
	front.SetDelay(60 * time.Second)
	d := &deployStack{
		endpoint: front.URL,
		env:      deployEnv(front.URL, harness.TerraformCLIConfig(t)),
		bucket:   interruptBucket,
		suffix:   "e2eint",
	}
	wc := newWorkingCopy(t)
	const cluster = "aws_eks_cluster.eks_cluster"
	var createdAt time.Time

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"1_sigint_while_the_cluster_is_creating", func(t *testing.T) {
			// Not on its "Creating...": the CreateCluster call may be in flight, and one cancelled after EKS took it
			// leaves a cluster the state does not know (the message says so; a rerun fails on its name).
			// The log line alone is not enough: a loaded machine can print it while CreateCluster is still in
			// flight. The emulator must hold the cluster, and a further line must follow.
			r := d.interruptedDeploy(t, wc, syscall.SIGINT, cluster+": Still creating...", true, d.clusterCreating)
			// The rest of the test at the usual pace.
			front.SetDelay(harness.DefaultDelay)
			for _, want := range []string{"Interrupt received", // Terraform's own: the signal reached it
				"tapstack deploy: apply: interrupted; Terraform apply was asked to stop and has exited: it released " +
					"the state lock, and the state records what it created or changed so far. What it had not " +
					"finished creating, which AWS goes on creating, was untainted so that the next run keeps it " +
					"rather than replacing it: " + cluster,
				"Run the same command again to finish."} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("the interrupted deploy does not say %q:\n%s", want, tail(r.stderr, 30))
				}
			}
			st := d.wholeState(t)
			all := d.document(t, wc).addresses()
			got := st.managed()
			if len(got) == 0 || len(got) >= len(all) || !isSubset(got, all) {
				t.Errorf("the state holds %d of the stack's %d resources, want some but not all: %v", len(got), len(all), got)
			}
			// An interrupted create records the ID alone; the next refresh reads the rest.
			if status, attrs := st.instance(cluster); attrs["id"] != d.cluster() || status != "" {
				t.Errorf("the state's %s: id %v, status %q; want it recorded, not tainted", cluster, attrs["id"], status)
			}
			createdAt = clusterCreatedAt(t, d)
		}},
		{"2_sigterm_during_the_plans_refresh", func(t *testing.T) {
			before := d.wholeState(t)
			r := d.interruptedDeploy(t, wc, syscall.SIGTERM, "Refreshing state...", false, nil)
			want := "tapstack deploy: plan: interrupted; Terraform plan was asked to stop and has exited, having " +
				"changed nothing. Run the same command again to finish."
			if !strings.Contains(r.stderr, want) {
				t.Errorf("the interrupted deploy does not say %q:\n%s", want, tail(r.stderr, 30))
			}
			if after := d.wholeState(t); after.Serial != before.Serial || after.Lineage != before.Lineage {
				t.Errorf("an interrupted refresh changed the state: serial %d -> %d", before.Serial, after.Serial)
			}
		}},
		{"3_deploy_finishes", func(t *testing.T) {
			r := d.run(t, wc, 0, "deploy", "--skip-live-checks")
			st := d.wholeState(t)
			if got, want := st.managed(), d.document(t, wc).addresses(); !slices.Equal(got, want) {
				t.Errorf("after the deploy the state holds %v, the stack has %v", got, want)
			}
			if now := clusterCreatedAt(t, d); !now.Equal(createdAt) || strings.Contains(r.stderr, cluster+": Destroying") {
				t.Errorf("the deploy replaced the cluster the interrupted one began (created %s, was %s)", now, createdAt)
			}
		}},
		{"4_plan_is_clean", func(t *testing.T) { d.run(t, wc, 0, "plan", "--detailed-exitcode") }},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			t.Fatalf("step %s failed; the later steps depend on it", s.name)
		}
	}
}

// clusterCreating reports whether the emulator holds the stack's cluster, CREATING: CreateCluster has returned.
func (d *deployStack) clusterCreating() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := eksAPI(d.endpoint).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(d.cluster())})
	return err == nil && out.Cluster != nil && out.Cluster.Status == ekstypes.ClusterStatusCreating
}

// interruptedDeploy runs tapstack deploy in dir and sends sig to the tapstack process alone (not its group) once
// a line of its stderr contains when; with again, a second sig follows once Terraform says it is stopping. It
// checks that Terraform ran in a process group of its own, so the signal reached it only through tapstack, that
// tapstack exits non-zero within stopLimit, and that no state lock is left.
func (d *deployStack) interruptedDeploy(t *testing.T, dir string, sig syscall.Signal, when string, again bool,
	ready func() bool) result {
	t.Helper()
	args := append([]string{"deploy", "--skip-live-checks"}, d.stackArgs("deploy")...)
	cmd := exec.Command(tapstackBin, args...)
	cmd.Dir, cmd.Env = dir, d.env
	var stdout bytes.Buffer
	cmd.Stdout = io.MultiWriter(&stdout, &harness.LogWriter{T: t, Prefix: "deploy | "})
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now() // clock: the run's and the stop's durations, logged and bounded
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var stderr strings.Builder
	seen, stopping, eof := make(chan struct{}, 64), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			t.Log("deploy ! " + line)
			mu.Lock()
			stderr.WriteString(line + "\n")
			mu.Unlock()
			if strings.Contains(line, when) {
				select {
				case seen <- struct{}{}:
				default:
				}
			}
			closeOnce(stopping, strings.Contains(line, "Gracefully shutting down"))
		}
	}()
	var waitErr error
	exited := make(chan struct{})
	go func() { <-eof; waitErr = cmd.Wait(); close(exited) }()
	// Nothing may log once the test has returned: a no-op kill once it has exited.
	defer func() { _ = cmd.Process.Kill(); <-exited }()
	out := func() string { mu.Lock(); defer mu.Unlock(); return stderr.String() }

	// With ready, the signal waits for a line after the one on which ready first held.
	held := false
	for waiting := true; waiting; {
		select {
		case <-seen:
			switch {
			case ready == nil || held:
				waiting = false
			default:
				held = ready()
			}
		case <-exited:
			t.Fatalf("deploy ended (%v) before a line said %q:\n%s", waitErr, when, tail(out(), 30))
		case <-time.After(10 * time.Minute):
			t.Fatalf("no line said %q in 10 minutes:\n%s", when, tail(out(), 30))
		}
	}
	ownGroup(t, cmd.Process.Pid)
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal tapstack: %v", err)
	}
	signalled := time.Now() // clock: how long the stop took, logged
	t.Logf("%s sent to tapstack (pid %d) %s after start, on %q", sig, cmd.Process.Pid, signalled.Sub(start).Round(time.Millisecond), when)
	if again {
		select {
		case <-stopping:
			// Terraform is stopping: a second signal must not end tapstack, and Terraform with it.
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatalf("second %s: tapstack had already exited (%v), so this run does not show it waits", sig, err)
			}
			t.Logf("second %s sent %s after the first", sig, time.Since(signalled).Round(time.Millisecond))
		case <-exited:
			t.Fatalf("tapstack exited before Terraform said it was stopping:\n%s", tail(out(), 30))
		case <-time.After(stopLimit):
			t.Fatalf("Terraform did not say it was stopping within %s of %s:\n%s", stopLimit, sig, tail(out(), 30))
		}
	}

	var r result
	select {
	case <-exited:
		err = waitErr
	case <-time.After(stopLimit):
		_ = cmd.Process.Kill()
		t.Fatalf("tapstack did not exit within %s of %s:\n%s", stopLimit, sig, tail(out(), 30))
	}
	r.took = time.Since(start).Round(100 * time.Millisecond)
	r.stdout, r.stderr = stdout.String(), out()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() <= 0 {
		// ExitCode -1: tapstack died of the signal instead of handling it.
		t.Fatalf("tapstack deploy after %s: %v, want a non-zero exit of its own\n%s", sig, err, tail(r.stderr, 30))
	}
	r.code = ee.ExitCode()
	t.Logf("tapstack deploy: exit %d %s after %s (run %s)", r.code, time.Since(signalled).Round(time.Millisecond), sig, r.took)
	d.noLock(t)
	return r
}

// closeOnce closes ch when cond holds and it is still open.
func closeOnce(ch chan struct{}, cond bool) {
	if !cond {
		return
	}
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// ownGroup checks, on Linux, that tapstack (pid) runs in this test's process group, which a signal to the group
// would reach, and Terraform, its child, in a group of its own (terraform-exec sets Setpgid): so the signal reaches
// Terraform only if tapstack passes it on.
func ownGroup(t *testing.T, pid int) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Logf("not on Linux: the process groups are not checked")
		return
	}
	_, _, pgrp := procStat(t, pid)
	if pgrp != syscall.Getpgrp() {
		t.Errorf("tapstack is in process group %d, the test in %d", pgrp, syscall.Getpgrp())
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		name, ppid, group := procStat(t, child)
		if ppid != pid || name != "terraform" {
			continue
		}
		found = true
		if group != child || group == pgrp {
			t.Errorf("Terraform (pid %d) is in process group %d, tapstack in %d: want a group of its own", child, group, pgrp)
		}
		t.Logf("Terraform (pid %d) runs in its own process group %d; tapstack is in %d", child, group, pgrp)
	}
	if !found {
		t.Errorf("no Terraform process under tapstack (pid %d) when the signal was due", pid)
	}
}

// procStat reads a process's name, parent and process group from /proc/PID/stat; a process that has gone reads
// as none.
func procStat(t *testing.T, pid int) (name string, ppid, pgrp int) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, 0
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	f := strings.Fields(s[end+1:]) // state ppid pgrp ...
	if open < 0 || end < open || len(f) < 3 {
		t.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	ppid, _ = strconv.Atoi(f[1])
	pgrp, _ = strconv.Atoi(f[2])
	return s[open+1 : end], ppid, pgrp
}

// noLock checks that the bucket holds no lock object beside the state.
func (d *deployStack) noLock(t *testing.T) {
	t.Helper()
	out, err := harness.S3Client(d.endpoint, harness.Region).ListObjectsV2(testContext(t), &s3.ListObjectsV2Input{
		Bucket: aws.String(d.bucket), Prefix: aws.String(d.name() + "/")})
	if err != nil {
		t.Fatalf("list s3://%s: %v", d.bucket, err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if slices.Contains(keys, d.stateKey()+".tflock") || !slices.Contains(keys, d.stateKey()) {
		t.Errorf("s3://%s holds %v: want the state %s and no lock beside it", d.bucket, keys, d.stateKey())
	}
}

// fullState is a state object as Terraform 1.x writes it (format version 4).
type fullState struct {
	Version          int    `json:"version"`
	TerraformVersion string `json:"terraform_version"`
	Serial           int    `json:"serial"`
	Lineage          string `json:"lineage"`
	Resources        []struct {
		Mode      string `json:"mode"`
		Type      string `json:"type"`
		Name      string `json:"name"`
		Provider  string `json:"provider"`
		Instances []struct {
			Status     string         `json:"status"`
			Attributes map[string]any `json:"attributes"`
		} `json:"instances"`
	} `json:"resources"`
}

// wholeState reads the state object and checks it is a whole v4 state: a lineage, and every resource with a
// provider and instances that have attributes (an id for a managed one).
func (d *deployStack) wholeState(t *testing.T) fullState {
	t.Helper()
	raw := harness.StateObject(t, d.endpoint, d.bucket, d.stateKey())
	var st fullState
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("s3://%s/%s is not JSON: %v", d.bucket, d.stateKey(), err)
	}
	if st.Version != 4 || st.Lineage == "" || st.Serial < 1 || st.TerraformVersion == "" {
		t.Fatalf("s3://%s/%s is not a v4 state: version %d, lineage %q, serial %d", d.bucket, d.stateKey(),
			st.Version, st.Lineage, st.Serial)
	}
	var tainted []string
	for _, r := range st.Resources {
		addr := fmt.Sprintf("%s %s.%s", r.Mode, r.Type, r.Name)
		if r.Provider == "" || len(r.Instances) == 0 {
			t.Errorf("state resource %s has provider %q and %d instances", addr, r.Provider, len(r.Instances))
		}
		for _, in := range r.Instances {
			if id, _ := in.Attributes["id"].(string); len(in.Attributes) == 0 || (r.Mode == "managed" && id == "") {
				t.Errorf("state resource %s has an instance without attributes or id", addr)
			}
			if in.Status != "" {
				tainted = append(tainted, addr+" ("+in.Status+")")
			}
		}
	}
	t.Logf("state serial %d, lineage %s, %d resources; not ready: %v", st.Serial, st.Lineage, len(st.Resources), tainted)
	return st
}

// instance returns the status ("tainted", "" when ready) and attributes of a managed resource's first instance;
// nil attributes when it is not in the state.
func (st fullState) instance(address string) (string, map[string]any) {
	for _, r := range st.Resources {
		if r.Mode == "managed" && r.Type+"."+r.Name == address && len(r.Instances) > 0 {
			return r.Instances[0].Status, r.Instances[0].Attributes
		}
	}
	return "", nil
}

// managed lists the managed resources as type.name, sorted.
func (st fullState) managed() []string {
	var out []string
	for _, r := range st.Resources {
		if r.Mode == "managed" {
			out = append(out, r.Type+"."+r.Name)
		}
	}
	slices.Sort(out)
	return out
}

// clusterCreatedAt is when EKS began the environment's cluster.
func clusterCreatedAt(t *testing.T, d *deployStack) time.Time {
	t.Helper()
	out, err := eksAPI(d.endpoint).DescribeCluster(testContext(t), &eks.DescribeClusterInput{Name: aws.String(d.cluster())})
	if err != nil || out.Cluster.CreatedAt == nil {
		t.Fatalf("describe cluster %s: %v", d.cluster(), err)
	}
	return *out.Cluster.CreatedAt
}

func isSubset(sub, of []string) bool {
	for _, s := range sub {
		if !slices.Contains(of, s) {
			return false
		}
	}
	return true
}
