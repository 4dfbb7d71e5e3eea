package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/test/e2e/harness"
	"github.com/tapstack/tapstack/test/kubeapi"
)

// TestKubeRoll rolls a node group onto new instance types through the CLI, against moto behind the front whose
// DescribeCluster points at a real kube-apiserver (test/kubeapi), which authenticates tapstack's EKS tokens against
// the emulator's STS, with kube-controller-manager (Deployments make pods, PodDisruptionBudgets get their status).
// The rest the harness plays: harness.Nodes the node groups' instances (Node objects for the front's groups, Ready,
// on the group's version, gone with the group) and EKS's coredns add-on (its Deployment), kubeapi.Scheduler the
// scheduler and the kubelet for every pod. The workload is a Deployment of three replicas under a budget of
// minAvailable 2.
//
// deploy refuses the change, pointing to roll; a roll whose drain cannot finish (no replacement pod comes up while
// the budget holds the second eviction) stops in phase drain with the old group still there; run again it resumes
// with the drain, and ends with the old group gone, every replica ready on the new group's nodes, the outputs
// naming the new group and a plan with nothing to do. verify then passes, fails while a node is NotReady, and
// passes once it is Ready again.
func TestKubeRoll(t *testing.T) {
	t.Parallel()
	start := time.Now() // clock: measures a duration for the log
	defer func() { t.Logf("TestKubeRoll took %s", time.Since(start).Round(100*time.Millisecond)) }()
	harness.TerraformBinary(t)
	if _, err := kubeapi.Binaries(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	a := startLiveAccount(t)
	const suffix = "roll1"
	cluster, old, next := "eks-cluster-v1-"+suffix, "node-group-od-v1-"+suffix, "node-group-od-v1-"+suffix+"-b"

	// The CLI runs as an IAM user with an access entry: the webhook maps only IAM identities.
	iamc := iamAPI(a.front.URL)
	user, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("roller")})
	if err != nil {
		t.Fatal(err)
	}
	key, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("roller")})
	if err != nil {
		t.Fatal(err)
	}
	keyID, secret := aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)
	env := slices.DeleteFunc(slices.Clone(a.env), func(kv string) bool {
		return strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") || strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=")
	})
	env = append(env, "AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret)
	auth, err := kubeapi.NewAuthenticator(kubeapi.AuthOptions{Cluster: cluster, STSEndpoint: a.front.URL,
		SecretKeys: map[string]string{keyID: secret}, Admins: []string{aws.ToString(user.User.Arn)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := kubeapi.Start(t, kubeapi.Options{Authenticator: auth, ControllerManager: true})
	a.front.ServeKubernetesAPI(cluster, srv.URL, srv.CAData)
	admin := rest.CopyConfig(srv.Admin)
	admin.QPS, admin.Burst = 100, 200 // the players' calls must not wait on each other
	kube, err := kubernetes.NewForConfig(admin)
	if err != nil {
		t.Fatal(err)
	}
	nodes := harness.StartNodes(t, a.front.URL, cluster, kube, true)
	// The scheduler and the kubelet for every pod; web's first three go on two old nodes and a spot node.
	sched := &kubeapi.Scheduler{Client: kube, ReadyAfter: 2 * time.Second, Place: map[string][]string{}}
	play, stopPlay := context.WithCancel(ctx)
	defer stopPlay()

	wc := t.TempDir()
	base := []string{"--environment-suffix", suffix, "--state-bucket", liveBucket, "--state-bucket-region", harness.Region, "--region", harness.Region}
	run := func(want int, args ...string) liveRun {
		t.Helper()
		r := tapstackLive(t, wc, env, args...)
		if r.code != want {
			t.Fatalf("tapstack %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args[0], r.code, want, liveTail(r.stdout, 40), liveTail(r.stderr, 60))
		}
		return r
	}
	// deploy applies the default StorageClass through the API server too: no --skip-in-cluster here.
	deployArgs := append(slices.Clone(base), "--date", harness.TestDay, "--live-timeout", liveLimit)
	run(0, append([]string{"deploy", "--lock-timeout", "30s"}, deployArgs...)...)
	oldNodes := waitNodes(t, ctx, nodes, old, 2)
	spotNodes := waitNodes(t, ctx, nodes, "node-group-spot-v1-"+suffix, 3)
	sched.Place["web"] = []string{oldNodes[0], oldNodes[1], spotNodes[0]}
	go sched.Run(play)
	must(t, nodes.WaitCoreDNS(ctx))

	// The workload: a Deployment of three, two on the old group's nodes, under a budget of minAvailable 2.
	w := &kubeapi.Workload{Client: kube, Namespace: "shop", Name: "web", Replicas: 3, MinAvailable: 2}
	must(t, w.Create(ctx))
	must(t, w.WaitSettled(ctx))
	first, err := w.OnNode(ctx, oldNodes[0])
	must(t, err)
	second, err := w.OnNode(ctx, oldNodes[1])
	must(t, err)

	verify := func(want int, cfgArgs ...string) liveRun {
		t.Helper()
		return run(want, append(append([]string{"verify", "--timeout", liveLimit}, cfgArgs...), base...)...)
	}
	r := verify(0)
	if !strings.Contains(r.stdout, "Kubernetes nodes") || !strings.Contains(r.stdout, "add-on workloads") || !strings.Contains(r.stdout, "default StorageClass") {
		t.Errorf("verify did not look inside the cluster:\n%s", r.stdout)
	}

	// New instance types replace the group: deploy refuses and points to roll.
	cfg := filepath.Join(wc, "bigger-nodes.yaml")
	must(t, os.WriteFile(cfg, []byte("nodeGroups:\n  onDemand:\n    instanceTypes: [t3.large]\n"), 0o644))
	r = run(2, append([]string{"deploy", "--config", cfg}, deployArgs...)...)
	if want := "run `tapstack roll --node-group " + old + "`"; !strings.Contains(r.stderr, want) {
		t.Errorf("the guard's refusal does not say %q:\n%s", want, liveTail(r.stderr, 20))
	}

	// A failure in the middle of the drain: no replacement comes up (the scheduler finds no room), so the budget
	// holds the second pod until the timeout.
	sched.Pause(true)
	rollArgs := append([]string{"roll", "--config", cfg, "--node-group", old, "--yes"}, base...)
	rollArgs = append(rollArgs, "--date", harness.TestDay)
	r = run(1, append(rollArgs, "--timeout", "60s")...)
	t.Logf("the stopped roll:\n%s%s", r.stdout, liveTail(r.stderr, 25))
	for _, want := range []string{"stopped in phase drain", "shop/" + second, "would violate the pod's disruption budget", "run `tapstack roll --node-group " + old + "` again"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the stopped roll does not say %q:\n%s", want, liveTail(r.stderr, 30))
		}
	}
	// The first went (the budget allowed one), the second stayed: the report says that, not the deadline's errors.
	if !strings.Contains(r.stdout, "NOT EVICTED shop/"+second) || strings.Contains(r.stdout, "NOT EVICTED shop/"+first) ||
		!strings.Contains(r.stdout, "NOT READY AGAIN ReplicaSet shop/web") {
		t.Errorf("the stopped roll's report:\n%s", r.stdout)
	}
	record := rollRecord(t, ctx, a.front.URL, suffix)
	if !strings.Contains(record, `"phase": "drain"`) || !strings.Contains(record, `"new": "`+next+`"`) {
		t.Errorf("the record after the stop: %s", record)
	}
	if !nodegroupExists(t, ctx, a.front.URL, cluster, old) || !nodegroupExists(t, ctx, a.front.URL, cluster, next) {
		t.Fatal("after the stop both groups should run")
	}

	// Run again: it resumes with the drain, the replacements come up as the budget allows, the old group goes.
	sched.Pause(false)
	r = run(0, append(rollArgs, "--timeout", "10m")...)
	t.Logf("the resumed roll:\n%s%s", r.stdout, liveTail(r.stderr, 25))
	if !strings.Contains(r.stderr, "resuming the roll recorded in phase drain") || strings.Contains(r.stderr, "Creation complete") {
		t.Errorf("the second run did not resume with the drain:\n%s", liveTail(r.stderr, 40))
	}
	if !strings.Contains(r.stdout, "rolled node group "+old+" onto "+next) {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if nodegroupExists(t, ctx, a.front.URL, cluster, old) {
		t.Errorf("node group %s is still there", old)
	}
	if rec := rollRecord(t, ctx, a.front.URL, suffix); rec != "" {
		t.Errorf("the record is left: %s", rec)
	}
	st := (&deployStack{endpoint: a.front.URL, bucket: liveBucket, suffix: suffix}).state(t)
	if got := st.managed(); slices.Contains(got, "aws_eks_node_group.on_demand_node_group") || !slices.Contains(got, "aws_eks_node_group.on_demand_node_group_b") {
		t.Errorf("state after the roll: %v", got)
	}
	if v, err := outputs.Read(filepath.Join(wc, outputs.DefaultPath), "TapStack"+suffix); err != nil || v.String("on_demand_node_group_name") != next {
		t.Errorf("outputs name %v (%v), want %s", v["on_demand_node_group_name"], err, next)
	}
	ready, err := w.ReadyOn(ctx)
	must(t, err)
	total := 0
	for node, pods := range ready {
		if slices.Contains(oldNodes, node) {
			t.Errorf("pods %v still ready on the old node %s", pods, node)
		}
		total += len(pods)
	}
	if total != 3 {
		t.Errorf("ready replicas %v, want 3", ready)
	}
	run(0, append(append([]string{"plan", "--config", cfg, "--detailed-exitcode"}, base...), "--date", harness.TestDay)...)

	// verify follows the new group; it fails while one of its nodes is NotReady and passes once it is Ready.
	verify(0, "--config", cfg)
	newNodes := waitNodes(t, ctx, nodes, next, 2)
	must(t, nodes.SetReady(ctx, newNodes[0], false))
	r = verify(2, "--config", cfg)
	if want := `MISMATCH node ` + newNodes[0] + ` (` + next + `) Ready: expected "True", actual "False"`; !strings.Contains(r.stdout, want) {
		t.Errorf("verify does not say %q:\n%s", want, r.stdout)
	}
	must(t, nodes.SetReady(ctx, newNodes[0], true))
	verify(0, "--config", cfg)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitNodes waits for the harness to have registered n nodes of a group, and returns their names.
func waitNodes(t *testing.T, ctx context.Context, nodes *harness.Nodes, group string, n int) []string {
	t.Helper()
	for {
		names, err := nodes.Of(ctx, group)
		if err == nil && len(names) >= n {
			return names
		}
		select {
		case <-ctx.Done():
			t.Fatalf("node group %s: nodes %v (%v), want %d", group, names, err, n)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// rollRecord reads the roll's record beside the state; "" when there is none.
func rollRecord(t *testing.T, ctx context.Context, endpoint, suffix string) string {
	t.Helper()
	key := "TapStack" + suffix + "/" + suffix + "/terraform.roll.json"
	out, err := harness.S3Client(endpoint, harness.Region).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(liveBucket), Key: aws.String(key)})
	if err != nil {
		var nk interface{ ErrorCode() string }
		if errors.As(err, &nk) && (nk.ErrorCode() == "NoSuchKey" || nk.ErrorCode() == "NotFound") {
			return ""
		}
		t.Fatalf("roll record %s: %v", key, err)
	}
	defer out.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := out.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func nodegroupExists(t *testing.T, ctx context.Context, endpoint, cluster, name string) bool {
	t.Helper()
	_, err := eksAPI(endpoint).DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(name)})
	var nf *ekstypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return false
	}
	if err != nil {
		t.Fatalf("describe node group %s: %v", name, err)
	}
	return true
}
