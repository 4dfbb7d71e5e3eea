//go:build unix

package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// watchWriter collects what is written and closes seen when it holds want; tfexec writes stdout and stderr from
// two goroutines.
type watchWriter struct {
	mu   sync.Mutex
	b    strings.Builder
	want string
	seen chan struct{}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if w.seen != nil && strings.Contains(w.b.String(), w.want) {
		close(w.seen)
		w.seen = nil
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// interruptApply runs the fake's apply, which prints stderr when it stops, and cancels its context once it is
// applying; state pull answers state when given. It returns Interrupted's error, the engine's output and the fake's
// call log.
func interruptApply(t *testing.T, stderr, state string) (*InterruptedError, string, []string) {
	t.Helper()
	exe, log := writeFakeEngine(t)
	t.Setenv("FAKE_APPLY_WAIT", stderr)
	if state != "" {
		p := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(p, []byte(state), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv("FAKE_STATE", p)
	}
	w := &watchWriter{want: "Creating...", seen: make(chan struct{})}
	seen := w.seen
	e, err := New(context.Background(), Options{ExecPath: exe, Dir: t.TempDir(), Progress: w,
		Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-seen:
			cancel()
		case <-time.After(30 * time.Second):
		}
	}()
	start := time.Now() // clock: the stop must not wait for a kill
	err = Interrupted("apply", e.Apply(ctx, "p"))
	var ie *InterruptedError
	if !errors.As(err, &ie) || ie.Engine == nil || ie.Engine.ExitCode != 1 {
		t.Fatalf("got %v (%#v)", err, err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the interrupted apply took %s", took)
	}
	if !strings.Contains(w.String(), "Interrupt received.") {
		t.Errorf("the engine did not get SIGINT:\n%s", w.String())
	}
	return ie, w.String(), calls(t, log)
}

// TestApplyInterrupted cancels an apply's context: the engine gets SIGINT, stops on its own (it is not killed)
// and the error says so.
func TestApplyInterrupted(t *testing.T) {
	ie, _, calls := interruptApply(t, "\nError: execution halted\n", "")
	want := "apply: interrupted; Terraform apply was asked to stop and has exited: it released the state lock, and " +
		"the state records what it created or changed so far. Run the same command again to finish."
	if ie.Error() != want {
		t.Errorf("message\n%s\nwant\n%s", ie, want)
	}
	for _, c := range calls {
		if strings.HasPrefix(c, "show") || strings.HasPrefix(c, "state") || strings.HasPrefix(c, "untaint") {
			t.Errorf("nothing was cut short, yet: %s", c)
		}
	}
}

// cutShortStderr is an interrupted apply's errors, as Terraform 1.11 and the AWS provider print them (-no-color).
const cutShortStderr = `
Error: execution halted


Error: waiting for EKS Cluster (eks-cluster-v1-x) create: context canceled

  with aws_eks_cluster.eks_cluster,
  on cdk.tf.json line 312, in resource.aws_eks_cluster.eks_cluster:
 312:       }


Error: reading Route Table Association (rtbassoc-1): context canceled

  with aws_route_table_association.public_subnet_1_association,
  on cdk.tf.json line 532, in resource.aws_route_table_association.public_subnet_1_association:


│ Error: waiting for EKS Node Group (eks-cluster-v1-x:spot) create: context canceled
│
│   with module.nodes.aws_eks_node_group.group["spot"],


Error: creating EC2 Subnet: context canceled

  with aws_subnet.private[1],


Error: creating IAM Role (eks-node-role-v1-x): context canceled

  with aws_iam_role.eks_node_role,


Error: deleting EC2 Subnet (subnet-1): context canceled

  with aws_subnet.old,


Error: creating EC2 VPC: AccessDenied

  with aws_vpc.vpc,
`

// cutShortState is the state that apply left (state pull): tainted by the cut-short creates, the cluster, the
// association and the spot group; the subnet old by an earlier failure, the VPC by its own error; private[1] and
// the role never recorded.
const cutShortState = `{"version":4,"terraform_version":"1.11.4","serial":3,"lineage":"l","outputs":{},"resources":[
{"mode":"managed","type":"aws_eks_cluster","name":"eks_cluster","provider":"p","instances":[{"status":"tainted","schema_version":0,"attributes":{"id":"eks-cluster-v1-x"}}]},
{"mode":"managed","type":"aws_route_table_association","name":"public_subnet_1_association","provider":"p","instances":[{"status":"tainted","schema_version":0,"attributes":{"id":"rtbassoc-1"}}]},
{"module":"module.nodes","mode":"managed","type":"aws_eks_node_group","name":"group","provider":"p","instances":[{"index_key":"on-demand","schema_version":0,"attributes":{"id":"a"}},{"index_key":"spot","status":"tainted","schema_version":0,"attributes":{"id":"b"}}]},
{"mode":"managed","type":"aws_subnet","name":"private","provider":"p","instances":[{"index_key":0,"schema_version":0,"attributes":{"id":"subnet-0"}}]},
{"mode":"managed","type":"aws_subnet","name":"old","provider":"p","instances":[{"status":"tainted","schema_version":0,"attributes":{"id":"subnet-1"}}]},
{"mode":"managed","type":"aws_vpc","name":"vpc","provider":"p","instances":[{"status":"tainted","schema_version":0,"attributes":{"id":"vpc-1"}}]},
{"mode":"data","type":"aws_iam_role","name":"eks_node_role","provider":"p","instances":[{"schema_version":0,"attributes":{"id":"r"}}]}
]}`

func TestApplyInterruptedKeepsWhatAWSGoesOnCreating(t *testing.T) {
	ie, out, calls := interruptApply(t, cutShortStderr, cutShortState)
	var untainted []string
	for _, c := range calls {
		if a, ok := strings.CutPrefix(c, "untaint "); ok {
			untainted = append(untainted, a[strings.LastIndexByte(a, ' ')+1:])
			if !strings.Contains(a, "-lock-timeout=0s") {
				t.Errorf("untaint %s", a)
			}
		}
	}
	want := []string{"aws_eks_cluster.eks_cluster", "aws_route_table_association.public_subnet_1_association",
		`module.nodes.aws_eks_node_group.group["spot"]`}
	if !slices.Equal(untainted, want) || !slices.Equal(ie.Engine.Untainted, want) {
		t.Errorf("untainted %v (recorded %v), want %v: not a deletion, nor a failure of its own", untainted,
			ie.Engine.Untainted, want)
	}
	if !strings.Contains(out, "Resource instance aws_eks_cluster.eks_cluster has been successfully untainted.") {
		t.Errorf("the untaint's output is not in the progress:\n%s", out)
	}
	for _, w := range []string{
		"What it had not finished creating, which AWS goes on creating, was untainted so that the next run keeps it " +
			"rather than replacing it: aws_eks_cluster.eks_cluster, aws_route_table_association.public_subnet_1_association, " +
			`module.nodes.aws_eks_node_group.group["spot"].`,
		"What it was creating but did not record in the state, which AWS may have made (then the next run fails on " +
			"its name until it is deleted or imported): aws_subnet.private[1], aws_iam_role.eks_node_role.",
		"Run the same command again to finish.",
	} {
		if !strings.Contains(ie.Error(), w) {
			t.Errorf("message\n%s\nlacks\n%s", ie, w)
		}
	}
}

func TestApplyInterruptedUntaintFails(t *testing.T) {
	t.Setenv("FAKE_UNTAINT_FAIL", "Failed to load state")
	ie, _, _ := interruptApply(t, cutShortStderr, cutShortState)
	if len(ie.Engine.Untainted) != 0 || ie.Engine.UntaintErr == nil {
		t.Fatalf("untainted %v, error %v", ie.Engine.Untainted, ie.Engine.UntaintErr)
	}
	for _, w := range []string{
		"What it had not finished creating is marked tainted, so the next plan would replace it, which deploy " +
			"refuses for a protected resource, and untainting failed (terraform untaint failed: Failed to load " +
			"state): aws_eks_cluster.eks_cluster, aws_route_table_association.public_subnet_1_association, " +
			`module.nodes.aws_eks_node_group.group["spot"].`,
		"Untaint them (terraform untaint ADDRESS in the stack directory), then run the same command again.",
	} {
		if !strings.Contains(ie.Error(), w) {
			t.Errorf("message\n%s\nlacks\n%s", ie, w)
		}
	}
}
