package stack

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/tapstack/tapstack/pkg/config"
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

// twoIdentities is a team's configuration: one service account with an inline policy using an IAM policy
// variable, one with two managed policies.
func twoIdentities(c *config.Config) {
	c.EnvironmentSuffix, c.Region = "pr7", "eu-west-1"
	c.WorkloadIdentities = []config.WorkloadIdentity{
		{Namespace: "shop", ServiceAccount: "orders.api",
			InlinePolicy: `{ "Version": "2012-10-17",
			  "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::orders/${aws:PrincipalTag/kubernetes-namespace}/*"}] }`},
		{Name: "reports", Namespace: "analytics", ServiceAccount: "reporter", ManagedPolicyARNs: []string{
			"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "arn:aws:iam::111122223333:policy/team/AmazonS3ReadOnlyAccess"}},
	}
}

func TestWorkloadIdentities(t *testing.T) {
	d := build(t, "default", twoIdentities)
	const orders, reports = "workload_identity_shop_orders_api", "workload_identity_reports"

	// One role each, named by the stack's scheme.
	if got := res(t, d, "aws_iam_role."+orders)["name"]; got != "eks-workload-shop-orders-api-v1-pr7" {
		t.Errorf("role name %v", got)
	}
	if got := res(t, d, "aws_iam_role."+reports)["name"]; got != "eks-workload-reports-v1-pr7" {
		t.Errorf("role name %v", got)
	}
	if got := res(t, d, "aws_iam_role."+orders)["assume_role_policy"]; got != "${data.aws_iam_policy_document."+orders+"_trust.json}" {
		t.Errorf("trust policy %v", got)
	}

	// The trust policy: pods.eks.amazonaws.com, AssumeRole and TagSession, this account, this cluster's
	// associations, this namespace and service account.
	trust := res(t, d, "data.aws_iam_policy_document."+orders+"_trust")["statement"].([]tfdoc.Body)
	if len(trust) != 1 {
		t.Fatalf("trust statements %v", trust)
	}
	s := trust[0]
	if s["effect"] != "Allow" || !reflect.DeepEqual(s["actions"], []string{"sts:AssumeRole", "sts:TagSession"}) ||
		!reflect.DeepEqual(s["principals"], []tfdoc.Body{{"type": "Service", "identifiers": []string{"pods.eks.amazonaws.com"}}}) {
		t.Errorf("trust statement %v", s)
	}
	account := "${split(\":\", aws_iam_role.eks_cluster_role.arn)[4]}"
	eks := "arn:${split(\":\", aws_iam_role.eks_cluster_role.arn)[1]}:eks:eu-west-1:" + account + ":"
	conds := map[string]string{}
	for _, c := range s["condition"].([]tfdoc.Body) {
		conds[c["test"].(string)+" "+c["variable"].(string)] = strings.Join(c["values"].([]string), " | ")
	}
	want := map[string]string{
		"StringEquals aws:SourceAccount":                         account,
		"StringEquals aws:RequestTag/eks-cluster-arn":            eks + "cluster/eks-cluster-v1-pr7",
		"StringEquals aws:RequestTag/kubernetes-namespace":       "shop",
		"StringEquals aws:RequestTag/kubernetes-service-account": "orders.api",
	}
	if !reflect.DeepEqual(conds, want) {
		t.Errorf("trust conditions\n got %v\nwant %v", conds, want)
	}

	// The inline policy compacted, its policy variable escaped from Terraform's templates.
	inline := res(t, d, "aws_iam_role_policy."+orders)
	wantPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders/$${aws:PrincipalTag/kubernetes-namespace}/*"}]}`
	if inline["policy"] != wantPolicy || inline["role"] != "${aws_iam_role."+orders+".id}" {
		t.Errorf("inline policy %v", inline)
	}
	// Managed policies: one attachment each, named after the policy and a digest of its ARN.
	var attached []string
	for _, r := range d.OfType("aws_iam_role_policy_attachment") {
		if strings.HasPrefix(r.Name, reports+"_") {
			if r.Body["role"] != "${aws_iam_role."+reports+".name}" {
				t.Errorf("%s attaches to %v", r.Address(), r.Body["role"])
			}
			attached = append(attached, r.Body["policy_arn"].(string))
		}
		if strings.HasPrefix(r.Name, orders) {
			t.Errorf("%s: the inline-only identity has an attachment", r.Address())
		}
	}
	sort.Strings(attached)
	if !reflect.DeepEqual(attached, twoIdentitiesARNs()) {
		t.Errorf("attached %v", attached)
	}

	// One association each, after the Pod Identity agent and the role's permissions.
	for _, name := range []string{orders, reports} {
		a := res(t, d, "aws_eks_pod_identity_association."+name)
		if a["cluster_name"] != "${aws_eks_cluster.eks_cluster.name}" || a["role_arn"] != "${aws_iam_role."+name+".arn}" {
			t.Errorf("association %s: %v", name, a)
		}
		dd := deps(t, d, "aws_eks_pod_identity_association."+name)
		if !contains(dd, PodIdentityAgentAddress) {
			t.Errorf("association %s does not wait for the agent: %v", name, dd)
		}
	}
	if a := res(t, d, "aws_eks_pod_identity_association."+orders); a["namespace"] != "shop" || a["service_account"] != "orders.api" ||
		!contains(deps(t, d, "aws_eks_pod_identity_association."+orders), "aws_iam_role_policy."+orders) {
		t.Errorf("orders association %v, depends on %v", a, deps(t, d, "aws_eks_pod_identity_association."+orders))
	}
	if n := len(deps(t, d, "aws_eks_pod_identity_association."+reports)); n != 3 {
		t.Errorf("reports association depends on %d resources, want the agent and two attachments", n)
	}

	// The role ARNs by name, as one output.
	out := d.Outputs[WorkloadIdentityOutput].Value
	if !reflect.DeepEqual(out, map[string]string{"shop-orders-api": "${aws_iam_role." + orders + ".arn}", "reports": "${aws_iam_role." + reports + ".arn}"}) {
		t.Errorf("output %s = %v", WorkloadIdentityOutput, out)
	}
	if _, err := d.Marshal(); err != nil {
		t.Fatal(err)
	}
}

func twoIdentitiesARNs() []string {
	return []string{"arn:aws:iam::111122223333:policy/team/AmazonS3ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}
}

// Without workload identities nothing changes (the goldens hold that); in Auto Mode the agent is EKS's own, so the
// association waits only for the permissions; a duplicate entry, which the rules refuse, still builds a whole
// document; the original's outputs stay seven.
func TestWorkloadIdentityVariants(t *testing.T) {
	if d := build(t, "default"); len(d.OfType("aws_eks_pod_identity_association")) != 0 || d.Outputs[WorkloadIdentityOutput].Value != nil {
		t.Error("the default profile has workload identities")
	}
	d := build(t, "default", twoIdentities, func(c *config.Config) { c.Cluster.Compute = config.ComputeAuto })
	if got := deps(t, d, "aws_eks_pod_identity_association.workload_identity_reports"); len(got) != 2 || contains(got, PodIdentityAgentAddress) {
		t.Errorf("Auto Mode association depends on %v", got)
	}
	d = build(t, "default", twoIdentities, func(c *config.Config) {
		c.WorkloadIdentities = append(c.WorkloadIdentities, c.WorkloadIdentities[1])
		c.WorkloadIdentities[1].ManagedPolicyARNs = append(c.WorkloadIdentities[1].ManagedPolicyARNs, c.WorkloadIdentities[1].ManagedPolicyARNs[0])
	})
	if _, err := d.Marshal(); err != nil || len(d.OfType("aws_eks_pod_identity_association")) != 2 {
		t.Errorf("a duplicate entry: %v, %d associations", err, len(d.OfType("aws_eks_pod_identity_association")))
	}
	d = build(t, "original", twoIdentities, func(c *config.Config) { c.Addons.PodIdentityAgent = true })
	if _, ok := d.Outputs[WorkloadIdentityOutput]; ok || len(d.Outputs) != 7 {
		t.Errorf("compat.originalOutputs: %d outputs", len(d.Outputs))
	}
	// The document is valid JSON with the escaped variable intact once Terraform unescapes it.
	b, _ := build(t, "default", twoIdentities).Marshal()
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil || !strings.Contains(string(b), `$${aws:PrincipalTag/kubernetes-namespace}`) {
		t.Errorf("document: %v", err)
	}
}
