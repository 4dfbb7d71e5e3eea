package incluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	storagev1ac "k8s.io/client-go/applyconfigurations/storage/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/pkg/stack"
)

const (
	// DefaultStorageClassName names the StorageClass tapstack owns: the volume type, prefixed so that it is
	// neither EKS's gp2 nor the EBS CSI add-on's own ebs-csi-default-sc, which tapstack must not overwrite.
	DefaultStorageClassName = "tapstack-gp3"

	// EBSCSIProvisioner is the EBS CSI driver's CSIDriver name, which the aws-ebs-csi-driver add-on installs.
	EBSCSIProvisioner = "ebs.csi.aws.com"

	// FieldManager owns what tapstack applies.
	FieldManager = "tapstack"
	// UnmarkFieldManager owns the "false" tapstack writes into another StorageClass's default annotations: a
	// manager of its own, so that the class's managedFields say who un-marked it without tapstack owning more of
	// the class than those annotations.
	UnmarkFieldManager = "tapstack-unmark-default"

	// ManagedByLabel is Kubernetes' recommended label for the tool that manages an object; its value is
	// stack.ManagedByTapstack, as on the AWS resources' ManagedBy tag.
	ManagedByLabel = "app.kubernetes.io/managed-by"

	// IsDefaultAnnotation and BetaIsDefaultAnnotation mark a default StorageClass: the API server's
	// DefaultStorageClass admission counts a class as default when either is exactly "true".
	IsDefaultAnnotation     = "storageclass.kubernetes.io/is-default-class"
	BetaIsDefaultAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
)

// The EBS CSI driver's StorageClass parameters, as
// https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/master/docs/parameters.md names them: "type" (the
// EBS volume type), "encrypted" ("true" or "false"; default false) and "kmsKeyId" (the full ARN of the key;
// without it EBS uses the account's aws/ebs key).
const (
	paramType      = "type"
	paramEncrypted = "encrypted"
	paramKMSKeyID  = "kmsKeyId"
)

// DefaultStorageClass is the StorageClass tapstack makes the cluster's default: encrypted gp3 volumes of the EBS
// CSI driver, with kmsKeyARN's key when it is not "" (the cluster's key when encryption is on); created in the
// zone of the pod's node (WaitForFirstConsumer, since an EBS volume attaches only in its own zone), expandable,
// deleted with their claim.
func DefaultStorageClass(kmsKeyARN string) *storagev1.StorageClass {
	params := map[string]string{paramType: "gp3", paramEncrypted: "true"}
	if kmsKeyARN != "" {
		params[paramKMSKeyID] = kmsKeyARN
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	binding := storagev1.VolumeBindingWaitForFirstConsumer
	expand := true
	return &storagev1.StorageClass{
		TypeMeta: metav1.TypeMeta{APIVersion: "storage.k8s.io/v1", Kind: "StorageClass"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        DefaultStorageClassName,
			Labels:      map[string]string{ManagedByLabel: stack.ManagedByTapstack},
			Annotations: map[string]string{IsDefaultAnnotation: "true"},
		},
		Provisioner:          EBSCSIProvisioner,
		Parameters:           params,
		ReclaimPolicy:        &reclaim,
		VolumeBindingMode:    &binding,
		AllowVolumeExpansion: &expand,
	}
}

// applyConfiguration is sc as a server-side apply request: the fields DefaultStorageClass sets, and so the fields
// tapstack's field manager owns.
func applyConfiguration(sc *storagev1.StorageClass) *storagev1ac.StorageClassApplyConfiguration {
	ac := storagev1ac.StorageClass(sc.Name).
		WithLabels(sc.Labels).
		WithAnnotations(sc.Annotations).
		WithProvisioner(sc.Provisioner).
		WithParameters(sc.Parameters).
		WithMountOptions(sc.MountOptions...)
	if sc.ReclaimPolicy != nil {
		ac.WithReclaimPolicy(*sc.ReclaimPolicy)
	}
	if sc.VolumeBindingMode != nil {
		ac.WithVolumeBindingMode(*sc.VolumeBindingMode)
	}
	if sc.AllowVolumeExpansion != nil {
		ac.WithAllowVolumeExpansion(*sc.AllowVolumeExpansion)
	}
	return ac
}

// IsDefault says whether the API server counts sc as a default StorageClass.
func IsDefault(sc *storagev1.StorageClass) bool {
	return sc.Annotations[IsDefaultAnnotation] == "true" || sc.Annotations[BetaIsDefaultAnnotation] == "true"
}

// Diff is one field in which a StorageClass differs from the one wanted.
type Diff struct {
	Field     string // as in the object: provisioner, parameters[kmsKeyId], metadata.annotations[...]
	Have      string // "" and HaveSet false when the field is unset
	HaveSet   bool
	Want      string
	WantSet   bool
	Immutable bool // Kubernetes refuses to change it: the class must be deleted and created again
}

func (d Diff) String() string {
	show := func(v string, set bool) string {
		if !set {
			return "unset"
		}
		return strconv.Quote(v)
	}
	s := fmt.Sprintf("%s is %s, want %s", d.Field, show(d.Have, d.HaveSet), show(d.Want, d.WantSet))
	if d.Immutable {
		s += " (immutable)"
	}
	return s
}

// Differs says whether the field's values differ.
func (d Diff) Differs() bool { return d.Have != d.Want || d.HaveSet != d.WantSet }

// Diffs lists the fields in which have differs from want (see Fields).
func Diffs(have, want *storagev1.StorageClass) []Diff {
	var out []Diff
	for _, d := range Fields(have, want) {
		if d.Differs() {
			out = append(out, d)
		}
	}
	return out
}

// Fields compares have with want over the fields want sets (labels and annotations: only want's keys;
// parameters: every key of either, since the driver reads all of them), equal or not. The API server's defaults
// count: an unset reclaimPolicy is Delete, an unset volumeBindingMode Immediate, an unset allowVolumeExpansion
// false. Provisioner, parameters, reclaimPolicy and volumeBindingMode are immutable (ValidateStorageClassUpdate
// in kubernetes/pkg/apis/storage/validation).
func Fields(have, want *storagev1.StorageClass) []Diff {
	var out []Diff
	str := func(field, h string, hSet bool, w string, wSet bool, immutable bool) {
		out = append(out, Diff{Field: field, Have: h, HaveSet: hSet, Want: w, WantSet: wSet, Immutable: immutable})
	}
	mapKeys := func(field string, h, w map[string]string, keys []string, immutable bool) {
		for _, k := range keys {
			hv, hok := h[k]
			wv, wok := w[k]
			str(field+"["+k+"]", hv, hok, wv, wok, immutable)
		}
	}
	mapKeys("metadata.labels", have.Labels, want.Labels, slices.Sorted(maps.Keys(want.Labels)), false)
	mapKeys("metadata.annotations", have.Annotations, want.Annotations, slices.Sorted(maps.Keys(want.Annotations)), false)
	str("provisioner", have.Provisioner, true, want.Provisioner, true, true)
	params := slices.Sorted(maps.Keys(have.Parameters))
	for k := range want.Parameters {
		if _, ok := have.Parameters[k]; !ok {
			params = append(params, k)
		}
	}
	slices.Sort(params)
	mapKeys("parameters", have.Parameters, want.Parameters, params, true)
	reclaim := func(sc *storagev1.StorageClass) string {
		if sc.ReclaimPolicy == nil {
			return string(corev1.PersistentVolumeReclaimDelete)
		}
		return string(*sc.ReclaimPolicy)
	}
	str("reclaimPolicy", reclaim(have), true, reclaim(want), true, true)
	binding := func(sc *storagev1.StorageClass) string {
		if sc.VolumeBindingMode == nil {
			return string(storagev1.VolumeBindingImmediate)
		}
		return string(*sc.VolumeBindingMode)
	}
	str("volumeBindingMode", binding(have), true, binding(want), true, true)
	expand := func(sc *storagev1.StorageClass) string {
		return strconv.FormatBool(sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion)
	}
	str("allowVolumeExpansion", expand(have), true, expand(want), true, false)
	return out
}

// Action is what EnsureDefaultStorageClass did to one StorageClass.
type Action string

const (
	Created   Action = "created"
	Recreated Action = "deleted and created again"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
	Unmarked  Action = "no longer marked default"
)

// Change is what EnsureDefaultStorageClass did to one StorageClass, and why.
type Change struct {
	StorageClass string `json:"storageClass"`
	Action       Action `json:"action"`
	Detail       string `json:"detail,omitempty"`
}

func (c Change) String() string {
	s := "StorageClass " + c.StorageClass + " " + string(c.Action)
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// Result is what EnsureDefaultStorageClass did: tapstack's class first, then each class it un-marked.
type Result struct {
	Changes []Change
}

// Changed says whether anything in the cluster changed.
func (r Result) Changed() bool {
	return slices.ContainsFunc(r.Changes, func(c Change) bool { return c.Action != Unchanged })
}

// EnsureDefaultStorageClass makes sc the cluster's only default StorageClass. It applies sc (server-side, field
// manager FieldManager, taking over fields another manager owns); when a class of that name exists with a
// different immutable field (another key), it deletes it first and creates it again. Then it sets every other
// class's default annotation to "false". It stops at the first error; the Result says what was done until then.
func EnsureDefaultStorageClass(ctx context.Context, client kubernetes.Interface, sc *storagev1.StorageClass) (Result, error) {
	var res Result
	api := client.StorageV1().StorageClasses()
	old, err := api.Get(ctx, sc.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		old, err = nil, nil
	}
	if err != nil {
		return res, fmt.Errorf("read StorageClass %s: %w", sc.Name, err)
	}
	change := Change{StorageClass: sc.Name, Action: Created}
	if old != nil {
		var immutable, mutable []string
		for _, d := range Diffs(old, sc) {
			if d.Immutable {
				immutable = append(immutable, d.String())
			} else {
				mutable = append(mutable, d.String())
			}
		}
		if len(immutable) > 0 {
			// Kubernetes refuses to change these fields. Deleting a class leaves its volumes and claims as they are
			// (a class is read only when a volume is provisioned); a claim created meanwhile without a class gets
			// the default once there is one again (retroactive default assignment, GA in Kubernetes 1.28).
			if err := api.Delete(ctx, sc.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{
				UID: &old.UID, ResourceVersion: &old.ResourceVersion}}); err != nil && !apierrors.IsNotFound(err) {
				return res, fmt.Errorf("delete StorageClass %s to change %s: %w", sc.Name, strings.Join(immutable, "; "), err)
			}
			change = Change{StorageClass: sc.Name, Action: Recreated, Detail: strings.Join(immutable, "; ")}
			old = nil
		} else {
			change = Change{StorageClass: sc.Name, Action: Updated, Detail: strings.Join(mutable, "; ")}
		}
	}
	applied, err := api.Apply(ctx, applyConfiguration(sc), metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		if change.Action == Recreated {
			return res, fmt.Errorf("create StorageClass %s again after deleting it (%s): %w", sc.Name, change.Detail, err)
		}
		return res, fmt.Errorf("apply StorageClass %s: %w", sc.Name, err)
	}
	if old != nil && applied.ResourceVersion == old.ResourceVersion {
		change = Change{StorageClass: sc.Name, Action: Unchanged}
	} else if old != nil && change.Detail == "" {
		change.Detail = "fields now managed by " + FieldManager
	}
	res.Changes = append(res.Changes, change)

	// Exactly one default: EKS marks gp2 default on clusters created at 1.29 or earlier (and a taken-over cluster
	// may have any), and with several defaults the DefaultStorageClass admission gives a claim without a class the
	// newest of them, so which class a claim gets would depend on creation order.
	list, err := api.List(ctx, metav1.ListOptions{})
	if err != nil {
		return res, fmt.Errorf("list StorageClasses: %w", err)
	}
	for i := range list.Items {
		other := &list.Items[i]
		if other.Name == sc.Name || !IsDefault(other) {
			continue
		}
		unmark := map[string]string{}
		var was []string
		for _, a := range []string{IsDefaultAnnotation, BetaIsDefaultAnnotation} {
			if other.Annotations[a] == "true" {
				unmark[a] = "false"
				was = append(was, a)
			}
		}
		ac := storagev1ac.StorageClass(other.Name).WithAnnotations(unmark)
		if _, err := api.Apply(ctx, ac, metav1.ApplyOptions{FieldManager: UnmarkFieldManager, Force: true}); err != nil {
			if _, gone := api.Get(ctx, other.Name, metav1.GetOptions{}); apierrors.IsNotFound(gone) {
				continue // deleted since the list: no longer a default
			}
			return res, fmt.Errorf("un-mark StorageClass %s as default (%s): %w", other.Name, strings.Join(was, ", "), err)
		}
		res.Changes = append(res.Changes, Change{StorageClass: other.Name, Action: Unmarked,
			Detail: strings.Join(was, " and ") + ` set to "false", ` + sc.Name + " is the default"})
	}
	return res, nil
}

// Fact is one thing CheckDefaultStorageClass compared: a field of tapstack's class, or which classes are
// default. Problem and Fix are "" when it is as wanted.
type Fact struct {
	StorageClass string
	Field        string
	Want, Have   string // "unset" for a field that is not set
	Problem      string // what is wrong
	Fix          string // what fixes it
}

// OK says whether the fact is as wanted.
func (f Fact) OK() bool { return f.Problem == "" }

func (f Fact) String() string {
	if f.OK() {
		return "StorageClass " + f.StorageClass + ": " + f.Field + " is " + f.Have
	}
	return "StorageClass " + f.StorageClass + ": " + f.Problem + "; " + f.Fix
}

// Problems are the facts that are not as wanted.
func Problems(facts []Fact) []Fact {
	var out []Fact
	for _, f := range facts {
		if !f.OK() {
			out = append(out, f)
		}
	}
	return out
}

// DefaultsField is the Fact of which classes are marked default.
const DefaultsField = "default StorageClasses"

// CheckDefaultStorageClass compares the cluster's StorageClasses with want (DefaultStorageClass): that want exists
// with the same fields, and that it is the only class marked default. It returns every fact it compared (see
// Problems), and an error only when the classes could not be read.
func CheckDefaultStorageClass(ctx context.Context, client kubernetes.Interface, want *storagev1.StorageClass) ([]Fact, error) {
	list, err := client.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list StorageClasses: %w", err)
	}
	var facts []Fact
	var ours *storagev1.StorageClass
	var defaults, others []string
	for i := range list.Items {
		sc := &list.Items[i]
		if sc.Name == want.Name {
			ours = sc
		}
		if IsDefault(sc) {
			defaults = append(defaults, sc.Name)
			if sc.Name != want.Name {
				others = append(others, sc.Name)
			}
		}
	}
	exists := Fact{StorageClass: want.Name, Field: "exists", Want: "yes", Have: "yes"}
	if ours == nil {
		exists.Have = "no"
		exists.Problem = "missing, so a PersistentVolumeClaim without a class gets no encrypted " + want.Parameters[paramType] + " volume"
		exists.Fix = "tapstack deploy creates it"
	}
	facts = append(facts, exists)
	if ours != nil {
		for _, d := range Fields(ours, want) {
			if d.Field == "metadata.annotations["+IsDefaultAnnotation+"]" {
				continue // the defaults fact below says it
			}
			show := func(v string, set bool) string {
				if !set {
					return "unset"
				}
				return v
			}
			f := Fact{StorageClass: want.Name, Field: d.Field, Want: show(d.Want, d.WantSet), Have: show(d.Have, d.HaveSet)}
			if d.Differs() {
				f.Problem, f.Fix = d.String(), "tapstack deploy applies it again"
				if d.Immutable {
					f.Fix = "tapstack deploy deletes it and creates it again (the field is immutable)"
				}
			}
			facts = append(facts, f)
		}
	}
	slices.Sort(defaults)
	slices.Sort(others)
	def := Fact{StorageClass: want.Name, Field: DefaultsField, Want: want.Name, Have: strings.Join(defaults, ", ")}
	if def.Have == "" {
		def.Have = "none"
	}
	if def.Have != def.Want {
		var fixes, problems []string
		switch {
		case ours == nil:
			fixes = append(fixes, "creates "+want.Name)
		case !IsDefault(ours):
			problems = append(problems, want.Name+" is not marked default")
			fixes = append(fixes, "marks "+want.Name+" default")
		}
		if len(others) > 0 {
			problems = append(problems, strings.Join(others, ", ")+" "+plural(len(others), "is", "are")+
				" marked default, and with several defaults a PersistentVolumeClaim without a class gets the newest")
			fixes = append(fixes, `sets the default annotation of `+strings.Join(others, ", ")+` to "false"`)
		}
		if len(problems) == 0 {
			problems = append(problems, "no class is marked default")
		}
		def.Problem = strings.Join(problems, "; ")
		def.Fix = "tapstack deploy " + strings.Join(fixes, " and ")
	}
	return append(facts, def), nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
