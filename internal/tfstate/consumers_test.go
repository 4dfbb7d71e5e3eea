package tfstate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tapstack/tapstack/internal/engine"
	"github.com/tapstack/tapstack/pkg/outputs"
	"github.com/tapstack/tapstack/pkg/stack"
)

// What each consumer of engine.State and engine.Outputs reads is the same from Decode as from Terraform's own
// show -json and output -json of the golden states.
func TestConsumersReadTheSame(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.tfstate"))
	for _, f := range files {
		base := strings.TrimSuffix(f, ".tfstate")
		t.Run(filepath.Base(base), func(t *testing.T) {
			got, show := decodeFile(t, f), showJSON(t, base+".show.json")

			if g, w := stack.ExistingFrom(got), stack.ExistingFrom(show); !reflect.DeepEqual(g, w) {
				t.Errorf("ExistingFrom\n got  %+v\n want %+v", g, w)
			}
			var ga, wa []string
			for _, r := range engine.Resources(got) {
				ga = append(ga, r.Address+" "+r.DeposedKey)
			}
			for _, r := range engine.Resources(show) {
				wa = append(wa, r.Address+" "+r.DeposedKey)
			}
			if !reflect.DeepEqual(ga, wa) {
				t.Errorf("Resources\n got  %q\n want %q", ga, wa)
			}
			for _, r := range engine.Resources(show) {
				for _, a := range []string{"id", "name", "vpc_config"} {
					if g, w := engine.Attribute(got, r.Address, a), engine.Attribute(show, r.Address, a); !reflect.DeepEqual(g, w) {
						t.Errorf("Attribute(%s, %s) = %#v, want %#v", r.Address, a, g, w)
					}
				}
			}

			b, err := os.ReadFile(base + ".output.json")
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(b, &raw); err != nil {
				t.Fatal(err)
			}
			want, err := outputs.FromTerraform(raw)
			if err != nil {
				t.Fatal(err)
			}
			v, err := outputs.FromState(got)
			if err != nil || !reflect.DeepEqual(v, want) {
				t.Errorf("FromState = %#v, %v; want %#v", v, err, want)
			}
		})
	}
}

// The golden state read as tapstack reads an environment: the current objects, not the deposed ones, and an
// empty state is no environment.
func TestExistingFromDecodedState(t *testing.T) {
	ex := stack.ExistingFrom(decodeFile(t, filepath.Join("testdata", "state.tfstate")))
	if ex == nil {
		t.Fatal("no Existing")
	}
	if ex.KubernetesVersion != "1.31" || ex.UpgradeSupportType != "EXTENDED" || ex.AuthenticationMode != "API_AND_CONFIG_MAP" ||
		!ex.CNIRoleInUse || !ex.NodeCNIPolicy || ex.AddonVersions["vpc-cni"] != "v1.19.2-eksbuild.1" {
		t.Errorf("Existing %+v", ex)
	}
	if v := ex.NodeGroupVersions["aws_eks_node_group.spot_node_group"]; v != "1.31" {
		t.Errorf("spot node group on %q, want the current object's 1.31 (the deposed one is on 1.30)", v)
	}
	if !ex.Addresses[`aws_iam_role_policy_attachment.node["AmazonEKSWorkerNodePolicy"]`] || !ex.Addresses["aws_subnet.public[10]"] {
		t.Errorf("addresses %v", ex.Addresses)
	}
	for _, f := range []string{"empty.tfstate", "outputs-only.tfstate"} {
		st := decodeFile(t, filepath.Join("testdata", f))
		if ex := stack.ExistingFrom(st); ex != nil || len(engine.Resources(st)) != 0 {
			t.Errorf("%s: Existing %+v, %d resources", f, ex, len(engine.Resources(st)))
		}
	}
	if st, _ := Decode(nil); stack.ExistingFrom(st) != nil {
		t.Error("no state object: an Existing")
	}
}
