package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tapstack/tapstack/test/e2e/harness"
	"github.com/tapstack/tapstack/test/kubeapi"
)

// TestKubeDestroy deploys an environment whose cluster's Kubernetes API is a real API server with
// kube-controller-manager (the front's DescribeCluster points at it, EKS tokens checked against moto's STS), puts
// in it an Ingress and a LoadBalancer Service with load balancers in moto, a claim on a dynamically provisioned
// Delete volume and a Retain volume, both EBS volumes in moto, and destroys it. kubeapi.Cloud plays the load
// balancer controllers (deleting the load balancers in moto), the EBS CSI provisioner (deleting the Delete volume
// in moto) and the kubelet's pod termination; the test plays their creates. Without --yes destroy lists all of it
// and refuses; with --yes it deletes them in the cluster before the stack, the load balancers go with their objects
// (nothing is left for the VPC scan), the Retain volume is listed and left, and the report names each.
func TestKubeDestroy(t *testing.T) {
	t.Parallel()
	harness.TerraformBinary(t)
	moto := harness.StartMoto(t)
	front := harness.StartFront(t, moto.URL)
	const bucket = "tapstack-e2e-destroyk-state"
	harness.CreateBucket(t, front.URL, bucket, harness.Region)
	d := &deployStack{endpoint: front.URL, env: deployEnv(front.URL, harness.TerraformCLIConfig(t)), bucket: bucket, suffix: "e2ek"}
	wc := newWorkingCopy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()

	// The pipeline's principal: an IAM user with an access entry (cluster admin) on the cluster.
	iamc := iamAPI(front.URL)
	if _, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("pipeline")}); err != nil {
		t.Fatal(err)
	}
	key, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("pipeline")})
	if err != nil {
		t.Fatal(err)
	}
	keyID, secret := aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)
	auth, err := kubeapi.NewAuthenticator(kubeapi.AuthOptions{Cluster: d.cluster(), STSEndpoint: front.URL,
		SecretKeys: map[string]string{keyID: secret}, Admins: []string{"arn:aws:iam::123456789012:user/pipeline"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := kubeapi.Start(t, kubeapi.Options{Authenticator: auth, ControllerManager: true})
	front.ServeKubernetesAPI(d.cluster(), srv.URL, srv.CAData)
	var env []string
	for _, kv := range d.env {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") {
			env = append(env, kv)
		}
	}
	d.env = append(env, "AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret)

	d.run(t, wc, 0, "deploy", "--lock-timeout", "30s")
	st := d.state(t)
	vpc, _ := st.attr("aws_vpc.vpc", "id").(string)
	var subnets []string
	for _, a := range []string{"aws_subnet.public_subnet_1", "aws_subnet.public_subnet_2"} {
		id, _ := st.attr(a, "id").(string)
		subnets = append(subnets, id)
	}

	// What the controllers made in AWS for the objects: a load balancer each, an EBS volume per claim.
	ec, lb := ec2API(front.URL), elbv2API(front.URL)
	lbs := map[string]string{} // "Kind ns/name" -> ARN
	for _, l := range []struct{ object, name, tag, value string }{
		{"Ingress app/web", "k8s-app-web-4f3e2d1c0b", "elbv2.k8s.aws/cluster", d.cluster()},
		{"Service app/web-lb", "a0123456789abcdef0123456789abcde", "kubernetes.io/cluster/" + d.cluster(), "owned"},
	} {
		out, err := lb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(l.name), Subnets: subnets,
			Type: elbv2types.LoadBalancerTypeEnumNetwork, Tags: []elbv2types.Tag{{Key: aws.String(l.tag), Value: aws.String(l.value)}}})
		if err != nil || len(out.LoadBalancers) != 1 {
			t.Fatalf("create the load balancer of %s: %v", l.object, err)
		}
		lbs[l.object] = aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
	}
	volume := func() string {
		out, err := ec.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String(harness.Region + "a"), Size: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.VolumeId)
	}
	dataVol, archiveVol := volume(), volume()

	admin, err := kubernetes.NewForConfig(srv.Admin)
	if err != nil {
		t.Fatal(err)
	}
	cloud := &kubeapi.Cloud{Client: admin,
		DeleteLoadBalancer: func(ctx context.Context, kind, ns, name string) error {
			arn := lbs[kind+" "+ns+"/"+name]
			if arn == "" {
				return nil
			}
			_, err := lb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)})
			return err
		},
		DeleteVolume: func(ctx context.Context, id string) error {
			_, err := ec.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(id)})
			return err
		},
	}
	cloud.Start(t)
	kubeapi.DestroyWorkload{DataVolume: dataVol, ArchiveVolume: archiveVol}.Create(t, ctx, admin)

	// Without --yes: everything listed, nothing changed.
	r := d.tapstack(t, wc, "destroy", strings.NewReader("yes\n"), append([]string{"destroy"}, d.stackArgs("destroy")...)...)
	if r.code != 2 {
		t.Fatalf("destroy without --yes: exit %d, want 2\n%s", r.code, tail(r.stderr, 40))
	}
	for _, want := range []string{
		"would scale Deployment kube-system/cluster-autoscaler (1 replicas) to 0",
		"would delete Ingress app/web", "would delete Service app/web-lb", "would delete PersistentVolumeClaim app/data",
		"would wait for its provisioner to delete PersistentVolume pv-data (EBS volume " + dataVol + ", claim app/data, reclaim policy Delete)",
		"would leave PersistentVolume pv-archive (EBS volume " + archiveVol + ", claim app/archive, reclaim policy Retain)",
		"cluster " + d.cluster() + " runs 3 Kubernetes object(s)", "--yes",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("destroy without --yes does not say %q:\n%s", want, tail(r.stderr, 40))
		}
	}
	if strings.Contains(r.stderr, "fell back") {
		t.Fatalf("destroy could not ask the cluster:\n%s", tail(r.stderr, 40))
	}
	if _, err := admin.NetworkingV1().Ingresses("app").Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("ingress app/web after a refused destroy: %v", err)
	}
	if got := d.state(t).managed(); len(got) != len(st.managed()) {
		t.Fatalf("destroy without --yes changed the state: %d -> %d resources", len(st.managed()), len(got))
	}

	r = d.run(t, wc, 0, "destroy", "--yes")
	for _, want := range []string{"destroyed " + d.name(),
		"deleted Ingress app/web before the stack", "deleted Service app/web-lb before the stack",
		"deleted PersistentVolumeClaim app/data before the stack", "deleted PersistentVolume pv-data before the stack",
		"left PersistentVolume pv-archive (EBS volume " + archiveVol + ", claim app/archive, reclaim policy Retain)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("destroy --yes does not report %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "did not go in time") || strings.Contains(r.stdout, "fell back") {
		t.Errorf("destroy --yes:\n%s", r.stdout)
	}
	// The controllers deleted the load balancers: the VPC scan after the drain found none to remove.
	if !strings.Contains(r.stderr, "nothing outside Terraform found in VPC "+vpc) {
		t.Errorf("the VPC scan after the drain found leftovers:\n%s", tail(r.stderr, 60))
	}
	for _, arn := range lbs {
		if strings.Contains(r.stderr, "deleted load balancer "+arn) {
			t.Errorf("the VPC scan removed %s: its controller should have", arn)
		}
	}
	wantCloud := []string{"load balancer of Ingress app/web", "load balancer of Service app/web-lb", "volume " + dataVol}
	if got := cloud.Deleted(); !slices.Equal(sorted(got), sorted(wantCloud)) {
		t.Errorf("the played controllers deleted %v, want %v", got, wantCloud)
	}
	left, err := lb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range left.LoadBalancers {
		if slices.Contains(mapValues(lbs), aws.ToString(l.LoadBalancerArn)) {
			t.Errorf("load balancer %s is still in moto", aws.ToString(l.LoadBalancerArn))
		}
	}
	if _, err := ec.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{dataVol}}); apiErrorCode(err) != "InvalidVolume.NotFound" {
		t.Errorf("Delete volume %s after destroy: %v, want InvalidVolume.NotFound", dataVol, err)
	}
	if _, err := ec.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{archiveVol}}); err != nil {
		t.Errorf("Retain volume %s after destroy: %v, want it left", archiveVol, err)
	}
	if got := d.state(t).managed(); len(got) != 0 {
		t.Errorf("after destroy the state holds %v", got)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
