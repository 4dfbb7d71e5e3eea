package live

import (
	"context"
	"slices"
	"testing"
)

const rawState = `{
  "version": 4, "terraform_version": "1.11.4", "serial": 3,
  "resources": [
    {"mode": "data", "type": "aws_availability_zones", "name": "available_azs", "instances": [{"attributes": {"id": "us-east-1"}}]},
    {"mode": "managed", "type": "aws_iam_role", "name": "eks_cluster_role",
     "instances": [{"attributes": {"id": "eks-cluster-role-v1-dev", "name": "eks-cluster-role-v1-dev", "arn": "arn:aws:iam::123456789012:role/eks-cluster-role-v1-dev"}}]},
    {"mode": "managed", "type": "aws_eks_node_group", "name": "spot_node_group",
     "instances": [{"attributes": {"id": "eks-cluster-v1-dev:node-group-spot-v1-dev", "node_group_name": "node-group-spot-v1-dev"}}]},
    {"mode": "managed", "type": "aws_iam_openid_connect_provider", "name": "eks_oidc_provider",
     "instances": [{"attributes": {"arn": "arn:aws:iam::1:oidc-provider/oidc.example/id/X", "url": "oidc.example/id/X"}}]},
    {"mode": "managed", "type": "aws_vpc", "name": "vpc", "instances": [{"attributes": {"id": "vpc-1"}}]}
  ]
}`

const showJSON = `{
  "format_version": "1.0",
  "values": {"root_module": {
    "resources": [{"address": "aws_vpc.vpc", "mode": "managed", "type": "aws_vpc", "name": "vpc", "values": {"id": "vpc-1"}}],
    "child_modules": [{"resources": [{"mode": "managed", "type": "aws_cloudwatch_log_group", "name": "g", "values": {"name": "/aws/eks/x/cluster"}}]}]
  }}
}`

func TestParseState(t *testing.T) {
	st, err := ParseState([]byte(rawState))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"eks-cluster-role-v1-dev", "arn:aws:iam::123456789012:role/eks-cluster-role-v1-dev",
		"eks-cluster-v1-dev:node-group-spot-v1-dev", "node-group-spot-v1-dev", "arn:aws:iam::1:oidc-provider/oidc.example/id/X",
		"https://oidc.example/id/X", "vpc-1"} {
		if !st.Has(n) {
			t.Errorf("state lacks %s", n)
		}
	}
	if st.Has("us-east-1") {
		t.Error("a data source counted as managed")
	}
	if st.Count("aws_vpc") != 1 || st.Count("aws_iam_role") != 1 || st.Count("aws_subnet") != 0 {
		t.Errorf("types %v", st.Types)
	}

	st, err = ParseState([]byte(showJSON))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Has("vpc-1") || !st.Has("/aws/eks/x/cluster") || st.Count("aws_cloudwatch_log_group") != 1 {
		t.Errorf("show -json: %+v", st)
	}
	if _, err := ParseState([]byte("not json")); err == nil {
		t.Error("no error for a broken state")
	}
	var none *State
	if none.Has("x") || none.Count("aws_vpc") != 0 {
		t.Error("a nil state holds something")
	}
}

func TestReadState(t *testing.T) {
	f := cleanAccount()
	st, err := ReadState(context.Background(), f, "b", "k")
	if st != nil || err != nil {
		t.Fatalf("no state object: %v, %v; want nil, nil", st, err)
	}
	f.stateObject = []byte(rawState)
	st, err = ReadState(context.Background(), f, "b", "k")
	if err != nil || !st.Has("vpc-1") {
		t.Fatalf("%v, %v", st, err)
	}
	f.errs = map[string]error{"s3:GetObject": accessDenied}
	_, err = ReadState(context.Background(), f, "b", "k")
	if p := StateProblem(err); p != "the state could not be read (access denied: needs s3:GetObject)" {
		t.Errorf("StateProblem = %q", p)
	}
}

func TestReadStateObject(t *testing.T) {
	ctx := context.Background()
	f := cleanAccount()
	if b, err := ReadStateObject(ctx, f, "tf-state", "env/dev/terraform.tfstate"); b != nil || err != nil {
		t.Fatalf("no state object: %q, %v; want nil, nil", b, err)
	}
	if want := []string{"tf-state/env/dev/terraform.tfstate"}; !slices.Equal(f.stateKeys, want) {
		t.Errorf("GetObject of %v, want %v", f.stateKeys, want)
	}
	f.stateObject = []byte(rawState)
	if b, err := ReadStateObject(ctx, f, "b", "k"); err != nil || string(b) != rawState {
		t.Fatalf("state object: %d bytes, %v; want the object as stored", len(b), err)
	}
	for code, none := range map[string]bool{"NoSuchBucket": true, "NotFound": true, "InternalError": false} {
		f.errs = map[string]error{"s3:GetObject": apiErr(code, "")}
		b, err := ReadStateObject(ctx, f, "b", "k")
		if none && (b != nil || err != nil) {
			t.Errorf("%s: %q, %v; want nil, nil", code, b, err)
		}
		if api, _ := apiOf(err); !none && (b != nil || api != "s3:GetObject") {
			t.Errorf("%s: %q, %v; want an error tagged s3:GetObject", code, b, err)
		}
	}
}
