package outputs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"cluster_name": "cluster_name", "clusterName": "cluster_name", "ClusterName": "cluster_name",
		"OIDCProviderArn": "oidc_provider_arn", "oidcIssuerUrl": "oidc_issuer_url", "PublicSubnetIds": "public_subnet_ids",
	} {
		if got := SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadEveryShape(t *testing.T) {
	nested, err := Read("testdata/nested.json", "")
	if err != nil {
		t.Fatal(err)
	}
	flat, err := Read("testdata/flat-camel.json", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []Values{nested, flat} {
		if v.String("cluster_name") != "eks-cluster-v1-pr7107" || !reflect.DeepEqual(v.Strings("public_subnet_ids"), []string{"subnet-1", "subnet-2"}) {
			t.Errorf("values %v", v)
		}
	}
	if flat.String("oidc_provider_arn") == "" {
		t.Error("PascalCase key not normalized")
	}
	if _, err := Read("testdata/nested.json", "TapStackother"); err == nil {
		t.Error("a missing stack must be an error")
	}
}

func TestWriteRoundTripAndSensitiveOutputsStayOut(t *testing.T) {
	raw := map[string]json.RawMessage{
		"cluster_name":      json.RawMessage(`{"value":"eks-cluster-v1-dev","type":"string","sensitive":false}`),
		"public_subnet_ids": json.RawMessage(`{"value":["a","b"],"type":["tuple",["string","string"]],"sensitive":false}`),
		"secret":            json.RawMessage(`{"value":"hunter2","type":"string","sensitive":true}`),
	}
	v, err := FromTerraform(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, leaked := v["secret"]; leaked {
		t.Fatal("a sensitive output reached the outputs file")
	}
	dir := t.TempDir()
	for _, flat := range []bool{false, true} {
		p := filepath.Join(dir, "cfn-outputs", "flat-outputs.json")
		if err := Write(p, "TapStackdev", v, flat); err != nil {
			t.Fatal(err)
		}
		back, err := Read(p, "TapStackdev")
		if err != nil {
			t.Fatal(err)
		}
		if back.String("cluster_name") != "eks-cluster-v1-dev" || len(back.Strings("public_subnet_ids")) != 2 {
			t.Errorf("flat=%v: %v", flat, back)
		}
		b, _ := os.ReadFile(p)
		var top map[string]any
		_ = json.Unmarshal(b, &top)
		if _, nested := top["TapStackdev"]; nested == flat {
			t.Errorf("flat=%v but file is %s", flat, b)
		}
	}
}
