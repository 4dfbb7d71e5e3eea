// Package incluster_test runs internal/incluster against a real Kubernetes API server (test/kubeapi): server-side
// apply, immutable fields and the DefaultStorageClass admission are the API server's, which client-go's fake
// clientset does not reproduce.
package incluster_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/internal/incluster"
	"github.com/tapstack/tapstack/test/kubeapi"
)

const (
	keyA = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
	keyB = "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222"
)

func start(t *testing.T) (context.Context, kubernetes.Interface) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // generous: two cores shared with other tests
	t.Cleanup(cancel)
	srv := kubeapi.Start(t, kubeapi.Options{})
	client, err := kubernetes.NewForConfig(srv.Admin)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, client
}

// eksGP2 creates the gp2 class EKS clusters created at Kubernetes 1.29 or earlier have: the in-tree EBS
// provisioner, marked default, written by another field manager than tapstack's.
func eksGP2(t *testing.T, ctx context.Context, c kubernetes.Interface) *storagev1.StorageClass {
	t.Helper()
	binding := storagev1.VolumeBindingWaitForFirstConsumer
	sc, err := c.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "gp2", Annotations: map[string]string{incluster.IsDefaultAnnotation: "true"}},
		Provisioner:       "kubernetes.io/aws-ebs",
		Parameters:        map[string]string{"type": "gp2", "fsType": "ext4"},
		VolumeBindingMode: &binding,
	}, metav1.CreateOptions{FieldManager: "kubectl-client-side-apply"})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func ensure(t *testing.T, ctx context.Context, c kubernetes.Interface, key string) incluster.Result {
	t.Helper()
	res, err := incluster.EnsureDefaultStorageClass(ctx, c, incluster.DefaultStorageClass(key))
	if err != nil {
		t.Fatalf("EnsureDefaultStorageClass: %v", err)
	}
	return res
}

func changes(r incluster.Result) []string {
	var out []string
	for _, c := range r.Changes {
		out = append(out, c.String())
	}
	return out
}

func classes(t *testing.T, ctx context.Context, c kubernetes.Interface) map[string]storagev1.StorageClass {
	t.Helper()
	list, err := c.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]storagev1.StorageClass{}
	for _, sc := range list.Items {
		out[sc.Name] = sc
	}
	return out
}

func defaults(all map[string]storagev1.StorageClass) []string {
	var out []string
	for name, sc := range all {
		if incluster.IsDefault(&sc) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func check(t *testing.T, ctx context.Context, c kubernetes.Interface, key string) []string {
	t.Helper()
	facts, err := incluster.CheckDefaultStorageClass(ctx, c, incluster.DefaultStorageClass(key))
	if err != nil {
		t.Fatalf("CheckDefaultStorageClass: %v", err)
	}
	var out []string
	for _, p := range incluster.Problems(facts) {
		out = append(out, p.String())
	}
	return out
}

// claimGets creates claims without a class until the API server's DefaultStorageClass admission gives one the
// class want (its informer sees a change a moment after it is made), and fails with the last class it gave.
func claimGets(t *testing.T, ctx context.Context, c kubernetes.Interface, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(30 * time.Second); ; { // clock: a polling deadline
		pvc, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "data-"},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}, metav1.CreateOptions{})
		if err == nil {
			got = "(none)"
			if pvc.Spec.StorageClassName != nil {
				got = *pvc.Spec.StorageClassName
			}
			if got == want {
				return
			}
		} else {
			got = err.Error() // the default namespace appears just after the server is ready
		}
		if time.Now().After(deadline) { // clock: a polling deadline
			t.Fatalf("a claim without a class gets %s, want %s", got, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestKubeDefaultStorageClassFresh: a cluster with no StorageClass (EKS 1.30 and later) gets tapstack's, the only
// default; a second run writes nothing; a changed key recreates it; verify's check names each problem.
func TestKubeDefaultStorageClassFresh(t *testing.T) {
	t.Parallel()
	ctx, c := start(t)
	api := c.StorageV1().StorageClasses()

	if got, want := check(t, ctx, c, keyA), []string{
		"StorageClass tapstack-gp3: missing, so a PersistentVolumeClaim without a class gets no encrypted gp3 volume; tapstack deploy creates it",
		"StorageClass tapstack-gp3: no class is marked default; tapstack deploy creates tapstack-gp3"}; !slices.Equal(got, want) {
		t.Errorf("check before: %q, want %q", got, want)
	}

	res := ensure(t, ctx, c, keyA)
	if got := changes(res); !slices.Equal(got, []string{"StorageClass tapstack-gp3 created"}) {
		t.Errorf("first run: %q", got)
	}
	all := classes(t, ctx, c)
	if got := defaults(all); !slices.Equal(got, []string{"tapstack-gp3"}) {
		t.Errorf("defaults %v", got)
	}
	ours := all["tapstack-gp3"]
	if d := incluster.Diffs(&ours, incluster.DefaultStorageClass(keyA)); d != nil {
		t.Errorf("stored class differs: %v", d)
	}
	if ours.Parameters["kmsKeyId"] != keyA || ours.Parameters["encrypted"] != "true" || ours.Parameters["type"] != "gp3" {
		t.Errorf("parameters %v", ours.Parameters)
	}
	if got := check(t, ctx, c, keyA); got != nil {
		t.Errorf("check after deploy: %q", got)
	}
	claimGets(t, ctx, c, "tapstack-gp3")

	// Idempotent: the second run changes nothing, not even a resourceVersion.
	before := classes(t, ctx, c)
	res = ensure(t, ctx, c, keyA)
	if res.Changed() || !slices.Equal(changes(res), []string{"StorageClass tapstack-gp3 unchanged"}) {
		t.Errorf("second run: %q", changes(res))
	}
	after := classes(t, ctx, c)
	if !maps.EqualFunc(before, after, func(a, b storagev1.StorageClass) bool { return a.ResourceVersion == b.ResourceVersion }) {
		t.Error("the second run wrote a StorageClass")
	}

	// A user's class marked default after ours: the admission gives claims the newest default (by creation second,
	// then name: "fast" wins either way).
	binding := storagev1.VolumeBindingWaitForFirstConsumer
	if _, err := api.Create(ctx, &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: "fast", Annotations: map[string]string{incluster.IsDefaultAnnotation: "true"}},
		Provisioner: "ebs.csi.aws.com", Parameters: map[string]string{"type": "io2"}, VolumeBindingMode: &binding,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	claimGets(t, ctx, c, "fast")
	if got, want := check(t, ctx, c, keyA), []string{
		`StorageClass tapstack-gp3: fast is marked default, and with several defaults a PersistentVolumeClaim without a class gets the newest; ` +
			`tapstack deploy sets the default annotation of fast to "false"`}; !slices.Equal(got, want) {
		t.Errorf("check with a second default: %q, want %q", got, want)
	}
	res = ensure(t, ctx, c, keyA)
	if got, want := changes(res), []string{"StorageClass tapstack-gp3 unchanged",
		`StorageClass fast no longer marked default: storageclass.kubernetes.io/is-default-class set to "false", tapstack-gp3 is the default`}; !slices.Equal(got, want) {
		t.Errorf("un-marking: %q, want %q", got, want)
	}
	if got := defaults(classes(t, ctx, c)); !slices.Equal(got, []string{"tapstack-gp3"}) {
		t.Errorf("defaults %v", got)
	}
	claimGets(t, ctx, c, "tapstack-gp3")

	// Mutable fields changed by hand (an update, another field manager): re-applied in place.
	edited := classes(t, ctx, c)["tapstack-gp3"]
	edited.Annotations[incluster.IsDefaultAnnotation] = "false"
	edited.AllowVolumeExpansion = nil
	if _, err := api.Update(ctx, &edited, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	if got, want := check(t, ctx, c, keyA), []string{
		`StorageClass tapstack-gp3: allowVolumeExpansion is "false", want "true"; tapstack deploy applies it again`,
		`StorageClass tapstack-gp3: tapstack-gp3 is not marked default; tapstack deploy marks tapstack-gp3 default`}; !slices.Equal(got, want) {
		t.Errorf("check after the edit: %q, want %q", got, want)
	}
	res = ensure(t, ctx, c, keyA)
	if got, want := changes(res), []string{`StorageClass tapstack-gp3 updated: ` +
		`metadata.annotations[storageclass.kubernetes.io/is-default-class] is "false", want "true"; allowVolumeExpansion is "false", want "true"`}; !slices.Equal(got, want) {
		t.Errorf("re-apply: %q, want %q", got, want)
	}
	if now := classes(t, ctx, c)["tapstack-gp3"]; now.UID != ours.UID {
		t.Error("a mutable change recreated the class")
	}
	if got := check(t, ctx, c, keyA); got != nil {
		t.Errorf("check after re-apply: %q", got)
	}

	// Another key: parameters are immutable, so the class is deleted and created again.
	if got, want := check(t, ctx, c, keyB), []string{
		`StorageClass tapstack-gp3: parameters[kmsKeyId] is "` + keyA + `", want "` + keyB + `" (immutable); tapstack deploy deletes it and creates it again (the field is immutable)`}; !slices.Equal(got, want) {
		t.Errorf("check for another key: %q, want %q", got, want)
	}
	res = ensure(t, ctx, c, keyB)
	if got, want := changes(res), []string{`StorageClass tapstack-gp3 deleted and created again: parameters[kmsKeyId] is "` + keyA + `", want "` + keyB + `" (immutable)`}; !slices.Equal(got, want) {
		t.Errorf("key change: %q, want %q", got, want)
	}
	recreated := classes(t, ctx, c)["tapstack-gp3"]
	if recreated.UID == ours.UID || recreated.Parameters["kmsKeyId"] != keyB {
		t.Errorf("after the key change: uid %s (was %s), parameters %v", recreated.UID, ours.UID, recreated.Parameters)
	}
	if got := check(t, ctx, c, keyB); got != nil {
		t.Errorf("check after the key change: %q", got)
	}
	// Encryption off: EBS's own key, no kmsKeyId.
	res = ensure(t, ctx, c, "")
	if len(res.Changes) != 1 || res.Changes[0].Action != incluster.Recreated {
		t.Errorf("no key: %q", changes(res))
	}
	if p := classes(t, ctx, c)["tapstack-gp3"].Parameters; !maps.Equal(p, map[string]string{"type": "gp3", "encrypted": "true"}) {
		t.Errorf("without a key: parameters %v", p)
	}

	// Deleted by a user: the check says so, the next run creates it.
	if err := api.Delete(ctx, "tapstack-gp3", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := check(t, ctx, c, ""), []string{
		"StorageClass tapstack-gp3: missing, so a PersistentVolumeClaim without a class gets no encrypted gp3 volume; tapstack deploy creates it",
		"StorageClass tapstack-gp3: no class is marked default; tapstack deploy creates tapstack-gp3"}; !slices.Equal(got, want) {
		t.Errorf("check after delete: %q, want %q", got, want)
	}
	if got := changes(ensure(t, ctx, c, "")); !slices.Equal(got, []string{"StorageClass tapstack-gp3 created"}) {
		t.Errorf("after delete: %q", got)
	}
}

// TestKubeDefaultStorageClassOverEKSGP2: on a cluster created at 1.29 or earlier, EKS's gp2 is the default (and a
// taken-over cluster may have a class marked default by the beta annotation only): both are un-marked, nothing
// else of theirs changes, and tapstack's is the only default.
func TestKubeDefaultStorageClassOverEKSGP2(t *testing.T) {
	t.Parallel()
	ctx, c := start(t)
	api := c.StorageV1().StorageClasses()
	gp2 := eksGP2(t, ctx, c)
	binding := storagev1.VolumeBindingImmediate
	legacy, err := api.Create(ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy", Annotations: map[string]string{
			incluster.BetaIsDefaultAnnotation: "true", "team": "storage"}},
		Provisioner: "kubernetes.io/aws-ebs", VolumeBindingMode: &binding,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	res := ensure(t, ctx, c, keyA)
	if got, want := changes(res), []string{
		"StorageClass tapstack-gp3 created",
		`StorageClass gp2 no longer marked default: storageclass.kubernetes.io/is-default-class set to "false", tapstack-gp3 is the default`,
		`StorageClass legacy no longer marked default: storageclass.beta.kubernetes.io/is-default-class set to "false", tapstack-gp3 is the default`,
	}; !slices.Equal(got, want) {
		t.Errorf("first run: %q, want %q", got, want)
	}
	all := classes(t, ctx, c)
	if got := defaults(all); !slices.Equal(got, []string{"tapstack-gp3"}) {
		t.Errorf("defaults %v", got)
	}
	if got := check(t, ctx, c, keyA); got != nil {
		t.Errorf("check: %q", got)
	}
	claimGets(t, ctx, c, "tapstack-gp3")

	// Only the annotations changed, under tapstack's un-marking field manager.
	for _, c := range []struct {
		before *storagev1.StorageClass
		want   map[string]string
	}{
		{gp2, map[string]string{incluster.IsDefaultAnnotation: "false"}},
		{legacy, map[string]string{incluster.BetaIsDefaultAnnotation: "false", "team": "storage"}},
	} {
		now := all[c.before.Name]
		if !maps.Equal(now.Annotations, c.want) {
			t.Errorf("%s: annotations %v, want %v", now.Name, now.Annotations, c.want)
		}
		if now.UID != c.before.UID || now.Provisioner != c.before.Provisioner || !maps.Equal(now.Parameters, c.before.Parameters) {
			t.Errorf("%s changed beyond its annotations: %+v", now.Name, now)
		}
		var managers []string
		for _, f := range now.ManagedFields {
			managers = append(managers, f.Manager+"/"+string(f.Operation))
		}
		if !slices.Contains(managers, incluster.UnmarkFieldManager+"/Apply") {
			t.Errorf("%s: field managers %v, want %s among them", now.Name, managers, incluster.UnmarkFieldManager)
		}
	}

	// The second run writes nothing.
	res = ensure(t, ctx, c, keyA)
	if res.Changed() {
		t.Errorf("second run: %q", changes(res))
	}
	if after := classes(t, ctx, c); !maps.EqualFunc(all, after, func(a, b storagev1.StorageClass) bool { return a.ResourceVersion == b.ResourceVersion }) {
		t.Error("the second run wrote a StorageClass")
	}
}
