package lifecycle

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/pkg/outputs"
)

// LiveChecks runs the live checks of a prepared stack against the account: it reads the stack's state from its
// S3 backend (to tell the stack's own objects from collisions), then runs every check concurrently, each within
// timeout. It fails only when the AWS configuration cannot be loaded at all.
func LiveChecks(ctx context.Context, p *Prepared, timeout time.Duration) (*live.Report, error) {
	return liveChecks(ctx, p, timeout, nil)
}

func liveChecks(ctx context.Context, p *Prepared, timeout time.Duration, done func(live.Result)) (*live.Report, error) {
	cfg := p.Config
	clients, err := live.NewClients(ctx, cfg.Region, cfg.State.Region)
	if err != nil {
		return nil, err
	}
	in := live.Input{Config: cfg, Doc: p.Stack.Doc, Date: p.Date(), Adopt: p.Options.ImportLogGroup}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	st, serr := live.ReadState(sctx, clients.S3, cfg.State.Bucket, cfg.StateKey())
	cancel()
	where := fmt.Sprintf("s3://%s/%s", cfg.State.Bucket, cfg.StateKey())
	state := ""
	switch {
	case serr != nil:
		in.StateUnknown = live.StateProblem(serr)
		state = where + ": " + in.StateUnknown + "; collisions are reported as warnings"
	case st == nil:
		state = where + " does not exist yet: every existing object with the stack's names collides"
	default:
		in.InState = st
		n := 0
		for _, c := range st.Types {
			n += c
		}
		state = fmt.Sprintf("%s holds %d resources", where, n)
	}
	r := live.Run(ctx, clients, in, live.Options{Timeout: timeout, Done: done})
	r.State = state
	return r, nil
}

// VerifyOptions are Verify's own options.
type VerifyOptions struct {
	// Timeout bounds each part of the verification.
	Timeout time.Duration
	// SkipInCluster leaves out the part read through the cluster's Kubernetes API (the default StorageClass), for
	// a runner that cannot reach the endpoint; the report lists it as skipped.
	SkipInCluster bool
	// Kube connects to the cluster's Kubernetes API; nil: ClusterClient.
	Kube KubeClient
}

// Verify checks the live stack against the configuration and the outputs, each part within vo.Timeout.
func Verify(ctx context.Context, p *Prepared, vals outputs.Values, vo VerifyOptions) (*live.VerifyReport, error) {
	clients, err := live.NewClients(ctx, p.Config.Region, p.Config.State.Region)
	if err != nil {
		return nil, err
	}
	in := live.VerifyInput{Config: p.Config, Doc: p.Stack.Doc, Outputs: vals}
	if vo.SkipInCluster {
		in.KubeSkipped = "not verified (--skip-in-cluster)"
	} else {
		kube := Options{Kube: vo.Kube}.kube()
		in.Kube = func(ctx context.Context) (kubernetes.Interface, error) { return kube(ctx, p.Config) }
	}
	return live.Verify(ctx, clients, in, live.Options{Timeout: vo.Timeout}), nil
}
