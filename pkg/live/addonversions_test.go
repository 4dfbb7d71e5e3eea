package live

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
)

// addonVersionPages serves DescribeAddonVersions from pages, one per call, checking the filters it is asked with.
type addonVersionPages struct {
	EKSAPI
	t     *testing.T
	pages []*eks.DescribeAddonVersionsOutput
	calls int
}

func (p *addonVersionPages) DescribeAddonVersions(_ context.Context, in *eks.DescribeAddonVersionsInput, _ ...func(*eks.Options)) (*eks.DescribeAddonVersionsOutput, error) {
	if aws.ToString(in.AddonName) != "kube-proxy" || aws.ToString(in.KubernetesVersion) != "1.31" {
		p.t.Errorf("asked for %s on %s", aws.ToString(in.AddonName), aws.ToString(in.KubernetesVersion))
	}
	if p.calls > 0 && aws.ToString(in.NextToken) != "page2" {
		p.t.Errorf("second page asked without its token: %v", in.NextToken)
	}
	out := p.pages[p.calls]
	p.calls++
	return out, nil
}

func compat(k8s string, def bool) []ekstypes.Compatibility {
	return []ekstypes.Compatibility{{ClusterVersion: aws.String(k8s), DefaultVersion: def}}
}

func TestResolveAddonVersionsFollowsPagesAndFindsTheDefault(t *testing.T) {
	p := &addonVersionPages{t: t, pages: []*eks.DescribeAddonVersionsOutput{
		{Addons: []ekstypes.AddonInfo{{AddonName: aws.String("kube-proxy"), AddonVersions: []ekstypes.AddonVersionInfo{
			{AddonVersion: aws.String("v1.31.3-eksbuild.2"), Compatibilities: compat("1.31", false)},
			{AddonVersion: aws.String("v1.31.2-eksbuild.3"), Compatibilities: compat("1.31", true)},
		}}}, NextToken: aws.String("page2")},
		{Addons: []ekstypes.AddonInfo{{AddonName: aws.String("kube-proxy"), AddonVersions: []ekstypes.AddonVersionInfo{
			{AddonVersion: aws.String("v1.31.0-eksbuild.5"), Compatibilities: compat("1.31", false)},
			{AddonVersion: aws.String("v1.30.9-eksbuild.1"), Compatibilities: compat("1.30", true)}, // another version's
		}}}},
	}}
	got, err := ResolveAddonVersions(context.Background(), p, "1.31", []string{"kube-proxy"})
	if err != nil {
		t.Fatal(err)
	}
	kp := got["kube-proxy"]
	if kp.Default != "v1.31.2-eksbuild.3" || !reflect.DeepEqual(kp.Offered, []string{"v1.31.3-eksbuild.2", "v1.31.2-eksbuild.3", "v1.31.0-eksbuild.5"}) {
		t.Errorf("kube-proxy for 1.31: %+v", kp)
	}
	if !kp.Offers("v1.31.0-eksbuild.5") || kp.Offers("v1.30.9-eksbuild.1") {
		t.Error("Offers: a build listed for another version is not offered")
	}
}

func TestResolveAddonVersionsNamesTheFailedCall(t *testing.T) {
	f := &fakeAWS{errs: map[string]error{"eks:DescribeAddonVersions": accessDenied}}
	_, err := ResolveAddonVersions(context.Background(), f, "1.31", []string{"vpc-cni"})
	if api, action := apiOf(err); api != "eks:DescribeAddonVersions" || action != "eks:DescribeAddonVersions" {
		t.Errorf("error %v names %q (%q)", err, api, action)
	}
	if err == nil || !strings.Contains(err.Error(), "vpc-cni for Kubernetes 1.31") {
		t.Errorf("error %v does not name the add-on and version", err)
	}
}
