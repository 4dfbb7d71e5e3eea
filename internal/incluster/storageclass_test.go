package incluster

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const (
	keyA = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
	keyB = "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222"
)

func TestDefaultStorageClass(t *testing.T) {
	sc := DefaultStorageClass(keyA)
	if sc.Name != "tapstack-gp3" || sc.Provisioner != "ebs.csi.aws.com" {
		t.Errorf("name %q provisioner %q", sc.Name, sc.Provisioner)
	}
	if want := map[string]string{"type": "gp3", "encrypted": "true", "kmsKeyId": keyA}; !reflect.DeepEqual(sc.Parameters, want) {
		t.Errorf("parameters %v, want %v", sc.Parameters, want)
	}
	if sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		t.Errorf("volumeBindingMode %v", sc.VolumeBindingMode)
	}
	if sc.AllowVolumeExpansion == nil || !*sc.AllowVolumeExpansion {
		t.Errorf("allowVolumeExpansion %v", sc.AllowVolumeExpansion)
	}
	if sc.ReclaimPolicy == nil || *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		t.Errorf("reclaimPolicy %v", sc.ReclaimPolicy)
	}
	if !reflect.DeepEqual(sc.Annotations, map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}) {
		t.Errorf("annotations %v", sc.Annotations)
	}
	if !reflect.DeepEqual(sc.Labels, map[string]string{"app.kubernetes.io/managed-by": "tapstack"}) {
		t.Errorf("labels %v", sc.Labels)
	}
	if !IsDefault(sc) {
		t.Error("not default")
	}

	// Without a key: encrypted with EBS's aws/ebs key, so no kmsKeyId at all (an empty one is no key).
	noKey := DefaultStorageClass("")
	if want := map[string]string{"type": "gp3", "encrypted": "true"}; !reflect.DeepEqual(noKey.Parameters, want) {
		t.Errorf("without a key: parameters %v, want %v", noKey.Parameters, want)
	}
}

// The apply request carries every field of the class: what the API server would store from it is the class.
func TestApplyConfigurationCarriesTheClass(t *testing.T) {
	for _, key := range []string{keyA, ""} {
		sc := DefaultStorageClass(key)
		b, err := json.Marshal(applyConfiguration(sc))
		if err != nil {
			t.Fatal(err)
		}
		var got storagev1.StorageClass
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&got, sc) {
			t.Errorf("key %q: the apply request reads back as\n%+v\nwant\n%+v\n(%s)", key, got, *sc, b)
		}
		if d := Diffs(&got, sc); d != nil {
			t.Errorf("key %q: diffs %v", key, d)
		}
	}
}

func TestIsDefault(t *testing.T) {
	for _, c := range []struct {
		annotations map[string]string
		want        bool
	}{
		{nil, false},
		{map[string]string{IsDefaultAnnotation: "true"}, true},
		{map[string]string{BetaIsDefaultAnnotation: "true"}, true},
		{map[string]string{IsDefaultAnnotation: "false", BetaIsDefaultAnnotation: "true"}, true},
		{map[string]string{IsDefaultAnnotation: "True"}, false}, // the admission compares with "true" exactly
		{map[string]string{IsDefaultAnnotation: "false"}, false},
	} {
		if got := IsDefault(&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Annotations: c.annotations}}); got != c.want {
			t.Errorf("%v: %v, want %v", c.annotations, got, c.want)
		}
	}
}

// gp2 is the class EKS creates: the in-tree provisioner, marked default, the API server's defaults filled in.
func gp2() *storagev1.StorageClass {
	reclaim := corev1.PersistentVolumeReclaimDelete
	binding := storagev1.VolumeBindingWaitForFirstConsumer
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "gp2", Annotations: map[string]string{IsDefaultAnnotation: "true"}},
		Provisioner:       "kubernetes.io/aws-ebs",
		Parameters:        map[string]string{"type": "gp2", "fsType": "ext4"},
		ReclaimPolicy:     &reclaim,
		VolumeBindingMode: &binding,
	}
}

func TestDiffs(t *testing.T) {
	want := DefaultStorageClass(keyA)
	for _, c := range []struct {
		name   string
		change func(*storagev1.StorageClass)
		diffs  []string
	}{
		{"same", func(*storagev1.StorageClass) {}, nil},
		{"others' labels and annotations are not ours to compare", func(sc *storagev1.StorageClass) {
			sc.Labels["team"] = "a"
			sc.Annotations["note"] = "b"
		}, nil},
		{"another key", func(sc *storagev1.StorageClass) { sc.Parameters["kmsKeyId"] = keyB },
			[]string{`parameters[kmsKeyId] is "` + keyB + `", want "` + keyA + `" (immutable)`}},
		{"no key", func(sc *storagev1.StorageClass) { delete(sc.Parameters, "kmsKeyId") },
			[]string{`parameters[kmsKeyId] is unset, want "` + keyA + `" (immutable)`}},
		{"a parameter of someone else's", func(sc *storagev1.StorageClass) { sc.Parameters["iops"] = "4000" },
			[]string{`parameters[iops] is "4000", want unset (immutable)`}},
		{"un-marked, not expandable, immediate binding, retained", func(sc *storagev1.StorageClass) {
			sc.Annotations[IsDefaultAnnotation] = "false"
			sc.AllowVolumeExpansion = nil
			sc.VolumeBindingMode = nil
			retain := corev1.PersistentVolumeReclaimRetain
			sc.ReclaimPolicy = &retain
		}, []string{
			`metadata.annotations[storageclass.kubernetes.io/is-default-class] is "false", want "true"`,
			`reclaimPolicy is "Retain", want "Delete" (immutable)`,
			`volumeBindingMode is "Immediate", want "WaitForFirstConsumer" (immutable)`,
			`allowVolumeExpansion is "false", want "true"`,
		}},
		{"no label", func(sc *storagev1.StorageClass) { sc.Labels = nil },
			[]string{`metadata.labels[app.kubernetes.io/managed-by] is unset, want "tapstack"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			have := DefaultStorageClass(keyA)
			c.change(have)
			var got []string
			for _, d := range Diffs(have, want) {
				got = append(got, d.String())
			}
			if !slices.Equal(got, c.diffs) {
				t.Errorf("diffs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.diffs, "\n"))
			}
		})
	}

	// EKS's gp2 against ours: every immutable field but the binding mode differs.
	var immutable []string
	for _, d := range Diffs(gp2(), want) {
		if d.Immutable {
			immutable = append(immutable, d.Field)
		}
	}
	if w := []string{"provisioner", "parameters[encrypted]", "parameters[fsType]", "parameters[kmsKeyId]", "parameters[type]"}; !slices.Equal(immutable, w) {
		t.Errorf("gp2's immutable diffs %v, want %v", immutable, w)
	}
}

func TestResult(t *testing.T) {
	same := Result{Changes: []Change{{StorageClass: "tapstack-gp3", Action: Unchanged}}}
	if same.Changed() {
		t.Error("an unchanged class counts as a change")
	}
	r := Result{Changes: []Change{{StorageClass: "tapstack-gp3", Action: Unchanged},
		{StorageClass: "gp2", Action: Unmarked, Detail: "x"}}}
	if !r.Changed() {
		t.Error("un-marking gp2 is no change")
	}
	if s := r.Changes[1].String(); s != "StorageClass gp2 no longer marked default: x" {
		t.Errorf("%q", s)
	}
}

// CheckDefaultStorageClass only reads (a list), which the fake clientset does as the API server would.
func TestCheckDefaultStorageClass(t *testing.T) {
	ctx := context.Background()
	want := DefaultStorageClass(keyA)
	check := func(t *testing.T, objs ...runtime.Object) []Fact {
		t.Helper()
		facts, err := CheckDefaultStorageClass(ctx, fake.NewClientset(objs...), want)
		if err != nil {
			t.Fatal(err)
		}
		return facts
	}
	problems := func(facts []Fact) []string {
		var got []string
		for _, p := range Problems(facts) {
			got = append(got, p.String())
		}
		return got
	}
	unmarkedGP2 := gp2()
	unmarkedGP2.Annotations[IsDefaultAnnotation] = "false"
	betaDefault := gp2()
	betaDefault.Name = "legacy"
	betaDefault.Annotations = map[string]string{BetaIsDefaultAnnotation: "true"}
	wrong := DefaultStorageClass(keyB)
	wrong.Annotations[IsDefaultAnnotation] = "false"
	wrong.AllowVolumeExpansion = nil
	wrong.Parameters["type"] = "gp2"

	// Everything as wanted: every fact verify reports, each OK.
	facts := check(t, DefaultStorageClass(keyA), unmarkedGP2)
	var got []string
	for _, f := range facts {
		if !f.OK() || f.Fix != "" {
			t.Errorf("not OK: %+v", f)
		}
		got = append(got, f.String())
	}
	if w := []string{
		"StorageClass tapstack-gp3: exists is yes",
		"StorageClass tapstack-gp3: metadata.labels[app.kubernetes.io/managed-by] is tapstack",
		"StorageClass tapstack-gp3: provisioner is ebs.csi.aws.com",
		"StorageClass tapstack-gp3: parameters[encrypted] is true",
		"StorageClass tapstack-gp3: parameters[kmsKeyId] is " + keyA,
		"StorageClass tapstack-gp3: parameters[type] is gp3",
		"StorageClass tapstack-gp3: reclaimPolicy is Delete",
		"StorageClass tapstack-gp3: volumeBindingMode is WaitForFirstConsumer",
		"StorageClass tapstack-gp3: allowVolumeExpansion is true",
		"StorageClass tapstack-gp3: default StorageClasses is tapstack-gp3",
	}; !slices.Equal(got, w) {
		t.Errorf("facts\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(w, "\n"))
	}

	const missing = "StorageClass tapstack-gp3: missing, so a PersistentVolumeClaim without a class gets no encrypted gp3 volume; tapstack deploy creates it"
	for _, c := range []struct {
		name string
		objs []runtime.Object
		want []string
	}{
		{"nothing at all", nil, []string{missing,
			"StorageClass tapstack-gp3: no class is marked default; tapstack deploy creates tapstack-gp3"}},
		{"EKS's gp2 only", []runtime.Object{gp2()}, []string{missing,
			`StorageClass tapstack-gp3: gp2 is marked default, and with several defaults a PersistentVolumeClaim without a class gets the newest; ` +
				`tapstack deploy creates tapstack-gp3 and sets the default annotation of gp2 to "false"`}},
		{"a second default, through the beta annotation", []runtime.Object{DefaultStorageClass(keyA), unmarkedGP2, betaDefault}, []string{
			`StorageClass tapstack-gp3: legacy is marked default, and with several defaults a PersistentVolumeClaim without a class gets the newest; ` +
				`tapstack deploy sets the default annotation of legacy to "false"`}},
		{"ours changed, two others default", []runtime.Object{wrong, gp2(), betaDefault}, []string{
			`StorageClass tapstack-gp3: parameters[kmsKeyId] is "` + keyB + `", want "` + keyA + `" (immutable); tapstack deploy deletes it and creates it again (the field is immutable)`,
			`StorageClass tapstack-gp3: parameters[type] is "gp2", want "gp3" (immutable); tapstack deploy deletes it and creates it again (the field is immutable)`,
			`StorageClass tapstack-gp3: allowVolumeExpansion is "false", want "true"; tapstack deploy applies it again`,
			`StorageClass tapstack-gp3: tapstack-gp3 is not marked default; gp2, legacy are marked default, and with several defaults a PersistentVolumeClaim without a class gets the newest; ` +
				`tapstack deploy marks tapstack-gp3 default and sets the default annotation of gp2, legacy to "false"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := problems(check(t, c.objs...)); !slices.Equal(got, c.want) {
				t.Errorf("problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}

	t.Run("unreadable", func(t *testing.T) {
		client := fake.NewClientset()
		client.PrependReactor("list", "storageclasses", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, errors.New("forbidden")
		})
		if f, err := CheckDefaultStorageClass(ctx, client, want); err == nil || !strings.Contains(err.Error(), "forbidden") || f != nil {
			t.Errorf("%v, %v; want the list's error", f, err)
		}
	})
}
