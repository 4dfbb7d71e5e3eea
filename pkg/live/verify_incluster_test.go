package live

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tapstack/tapstack/internal/incluster"
	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/pkg/stack"
)

const clusterKey = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"

func verifyKube(t *testing.T, cfg *config.Config, out outputs.Values, kube func(context.Context) (kubernetes.Interface, error)) *VerifyReport {
	t.Helper()
	f, _ := deployed(t, cfg)
	st := stack.Build(cfg, stack.Options{})
	return Verify(context.Background(), f.clients(), VerifyInput{Config: cfg, Doc: st.Doc, Outputs: out, Kube: kube,
		KubeSkipped: "not verified (--skip-in-cluster)"}, Options{Timeout: 5 * time.Second})
}

// cluster is an API server holding objs, beside a healthy node and coredns (healthyInside), so that only the
// StorageClass can differ.
func cluster(objs ...runtime.Object) func(context.Context) (kubernetes.Interface, error) {
	return func(context.Context) (kubernetes.Interface, error) {
		return k8sfake.NewClientset(append(healthyInside(), objs...)...), nil
	}
}

func text(r *VerifyReport) string {
	var b bytes.Buffer
	_ = r.WriteText(&b)
	return b.String()
}

func storageItems(r *VerifyReport) []Item {
	var out []Item
	for _, it := range r.Items {
		if it.Part == "storage-class" {
			out = append(out, it)
		}
	}
	return out
}

// The default profile encrypts with the stack's key: verify reads it from the outputs and reports each fact of
// the default StorageClass.
func TestVerifyStorageClass(t *testing.T) {
	cfg := defaults(t, "default")
	cfg.Autoscaling = config.AutoscalingNone // the autoscaler's part is TestVerifyAutoscaler's
	_, out := deployed(t, cfg)
	out["kms_key_arn"] = clusterKey
	gp2 := incluster.DefaultStorageClass("")
	gp2.Name, gp2.Provisioner, gp2.Labels = "gp2", "kubernetes.io/aws-ebs", nil
	gp2.Annotations = map[string]string{incluster.IsDefaultAnnotation: "false"}

	r := verifyKube(t, cfg, out, cluster(incluster.DefaultStorageClass(clusterKey), gp2))
	if !r.OK() {
		t.Fatalf("a cluster with the class as applied does not verify:\n%s", text(r))
	}
	items := storageItems(r)
	want := map[string]string{"exists": "yes", "parameters[kmsKeyId]": clusterKey, "parameters[type]": "gp3",
		"parameters[encrypted]": "true", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": "true",
		"default StorageClasses": "tapstack-gp3"}
	for _, it := range items {
		if w, ok := want[it.Field]; ok {
			if it.Status != Match || it.Actual != w || it.Resource != "StorageClass tapstack-gp3" {
				t.Errorf("%+v, want a match on %q", it, w)
			}
			delete(want, it.Field)
		}
	}
	if len(want) > 0 {
		t.Errorf("not verified: %v among %+v", want, items)
	}

	// Another key, and gp2 default again: each is a mismatch whose note is the fix.
	wrong := incluster.DefaultStorageClass("arn:aws:kms:us-east-1:123456789012:key/other")
	gp2.Annotations[incluster.IsDefaultAnnotation] = "true"
	r = verifyKube(t, cfg, out, cluster(wrong, gp2))
	wantMismatch(t, r, "StorageClass tapstack-gp3", "parameters[kmsKeyId]", clusterKey, "arn:aws:kms:us-east-1:123456789012:key/other")
	wantMismatch(t, r, "StorageClass tapstack-gp3", "default StorageClasses", "tapstack-gp3", "gp2, tapstack-gp3")
	for _, w := range []string{`; tapstack deploy deletes it and creates it again (the field is immutable)`,
		`; tapstack deploy sets the default annotation of gp2 to "false"`} {
		if !strings.Contains(text(r), w) {
			t.Errorf("the report does not say %q:\n%s", w, text(r))
		}
	}

	// No key in the outputs where the configuration encrypts: nothing to compare the key with.
	delete(out, "kms_key_arn")
	r = verifyKube(t, cfg, out, cluster(incluster.DefaultStorageClass(clusterKey)))
	wantMismatch(t, r, "StorageClass tapstack-gp3", "output kms_key_arn", "set", "missing from the outputs file")
}

func TestVerifyStorageClassUnreachableOrSkipped(t *testing.T) {
	cfg := defaults(t, "default")
	cfg.Autoscaling = config.AutoscalingNone
	_, out := deployed(t, cfg)
	out["kms_key_arn"] = clusterKey

	// --skip-in-cluster: no part, a line saying so, and the rest verifies.
	r := verifyKube(t, cfg, out, nil)
	if !r.OK() || len(storageItems(r)) != 0 || !strings.Contains(text(r), "SKIPPED  default StorageClass: not verified (--skip-in-cluster)") {
		t.Errorf("skipped:\n%s", text(r))
	}

	cfg.Cluster.EndpointPublicAccess = false // the hint names the private endpoint (the cluster's part then mismatches)
	r = verifyKube(t, cfg, out, func(context.Context) (kubernetes.Interface, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("i/o timeout")}
	})
	items := storageItems(r)
	if len(items) != 1 || items[0].Status != Failed || !strings.Contains(items[0].Note, "cannot reach the Kubernetes API") ||
		!strings.Contains(items[0].Note, "private only") || !strings.Contains(items[0].Note, "--skip-in-cluster") {
		t.Errorf("unreachable: %+v", items)
	}

	refusing := k8sfake.NewClientset()
	refusing.PrependReactor("list", "storageclasses", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "storage.k8s.io", Resource: "storageclasses"}, "", errors.New("no access"))
	})
	r = verifyKube(t, cfg, out, func(context.Context) (kubernetes.Interface, error) { return refusing, nil })
	if items := storageItems(r); len(items) != 1 || items[0].Status != NotChecked || !strings.Contains(items[0].Note, "access entry") {
		t.Errorf("forbidden: %+v", items)
	}
}
