package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	sqtypes "github.com/aws/aws-sdk-go-v2/service/servicequotas/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fakeAWS is an in-memory account behind every client interface. Its zero value is an empty account; errs makes
// an API fail and delays slow it down (honouring the context, as the SDK does).
type fakeAWS struct {
	mu sync.Mutex

	account, callerARN string
	roles              map[string]bool
	clusters           map[string]*ekstypes.Cluster
	nodegroups         map[string]*ekstypes.Nodegroup              // cluster/name
	addons             map[string]*ekstypes.Addon                  // cluster/name
	associations       map[string]*ekstypes.PodIdentityAssociation // cluster/ID
	oidc               map[string]*iam.GetOpenIDConnectProviderOutput
	logGroups          map[string]*int32 // name -> retention (nil: never expires)
	zones              []ec2types.AvailabilityZone
	offerings          map[string]bool // type@zone
	vcpus              map[string]int32
	instances          []ec2types.Instance
	vpcs, igws, eips   int
	subnets            []ec2types.Subnet
	quotas             map[string]float64 // applied values by quota code
	defaultQuotas      map[string]float64 // AWS defaults by quota code
	bucket             *fakeBucket
	stateObject        []byte
	stateKeys          []string // bucket/key of each GetObject
	clusterVersions    []ekstypes.ClusterVersionInformation
	addonVersions      []ekstypes.AddonVersionInfo // of vpc-cni

	// pageSize, when set, makes the listing APIs answer that many items a call, with a token for the rest.
	pageSize int

	errs   map[string]error // by API: "eks:DescribeClusterVersions"
	delays map[string]time.Duration
	calls  map[string]int
}

type fakeBucket struct {
	name, region string
	versioning   s3types.BucketVersioningStatus
}

func apiErr(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

// notImplemented is what the SDK makes of an emulator's HTML 404 or 500: a response error without an AWS code.
func notImplemented(status int) error {
	return &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader("<html>"))}},
		Err:      errors.New("deserialization failed, failed to decode response body, invalid character '<'"),
	}
}

var accessDenied = apiErr("AccessDenied", "User: arn:aws:iam::123456789012:user/ci is not authorized to perform this action")

// call records an API call and returns its configured error, after its delay.
func (f *fakeAWS) call(ctx context.Context, api string) error {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[api]++
	d, err := f.delays[api], f.errs[api]
	f.mu.Unlock()
	if d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

func (f *fakeAWS) count(api string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[api]
}

// page returns the page of items that token starts and the token of the next one: all items at once unless
// f.pageSize is set. A token the fake did not hand out is an error, as AWS answers one.
func page[T any](f *fakeAWS, items []T, token *string) ([]T, *string, error) {
	if f.pageSize <= 0 {
		return items, nil, nil
	}
	start := 0
	if t := aws.ToString(token); t != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(t, "from-"))
		if err != nil || !strings.HasPrefix(t, "from-") || n <= 0 || n >= len(items) {
			return nil, nil, apiErr("InvalidNextToken", "the token "+t+" was not handed out")
		}
		start = n
	}
	end := min(start+f.pageSize, len(items))
	var next *string
	if end < len(items) {
		next = aws.String(fmt.Sprintf("from-%d", end))
	}
	return items[start:end], next, nil
}

func (f *fakeAWS) clients() *Clients {
	return &Clients{STS: f, IAM: f, EKS: f, EC2: f, Logs: f, S3: f, Quotas: f}
}

// STS

func (f *fakeAWS) GetCallerIdentity(ctx context.Context, _ *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if err := f.call(ctx, "sts:GetCallerIdentity"); err != nil {
		return nil, err
	}
	acct, arn := f.account, f.callerARN
	if acct == "" {
		acct, arn = "123456789012", "arn:aws:iam::123456789012:user/ci"
	}
	return &sts.GetCallerIdentityOutput{Account: aws.String(acct), Arn: aws.String(arn)}, nil
}

// IAM

func (f *fakeAWS) GetRole(ctx context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	if err := f.call(ctx, "iam:GetRole"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.RoleName)
	if !f.roles[name] {
		return nil, apiErr("NoSuchEntity", "The role with name "+name+" cannot be found.")
	}
	t := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	return &iam.GetRoleOutput{Role: &iamtypes.Role{RoleName: aws.String(name),
		Arn: aws.String("arn:aws:iam::123456789012:role/" + name), CreateDate: &t}}, nil
}

func (f *fakeAWS) ListOpenIDConnectProviders(ctx context.Context, _ *iam.ListOpenIDConnectProvidersInput, _ ...func(*iam.Options)) (*iam.ListOpenIDConnectProvidersOutput, error) {
	if err := f.call(ctx, "iam:ListOpenIDConnectProviders"); err != nil {
		return nil, err
	}
	out := &iam.ListOpenIDConnectProvidersOutput{}
	for arn := range f.oidc {
		out.OpenIDConnectProviderList = append(out.OpenIDConnectProviderList, iamtypes.OpenIDConnectProviderListEntry{Arn: aws.String(arn)})
	}
	return out, nil
}

func (f *fakeAWS) GetOpenIDConnectProvider(ctx context.Context, in *iam.GetOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.GetOpenIDConnectProviderOutput, error) {
	if err := f.call(ctx, "iam:GetOpenIDConnectProvider"); err != nil {
		return nil, err
	}
	p, ok := f.oidc[aws.ToString(in.OpenIDConnectProviderArn)]
	if !ok {
		return nil, apiErr("NoSuchEntity", "OpenIDConnect Provider not found")
	}
	return p, nil
}

// EKS

func (f *fakeAWS) DescribeCluster(ctx context.Context, in *eks.DescribeClusterInput, _ ...func(*eks.Options)) (*eks.DescribeClusterOutput, error) {
	if err := f.call(ctx, "eks:DescribeCluster"); err != nil {
		return nil, err
	}
	c, ok := f.clusters[aws.ToString(in.Name)]
	if !ok {
		return nil, apiErr("ResourceNotFoundException", "No cluster found for name: "+aws.ToString(in.Name)+".")
	}
	return &eks.DescribeClusterOutput{Cluster: c}, nil
}

func (f *fakeAWS) DescribeNodegroup(ctx context.Context, in *eks.DescribeNodegroupInput, _ ...func(*eks.Options)) (*eks.DescribeNodegroupOutput, error) {
	if err := f.call(ctx, "eks:DescribeNodegroup"); err != nil {
		return nil, err
	}
	ng, ok := f.nodegroups[aws.ToString(in.ClusterName)+"/"+aws.ToString(in.NodegroupName)]
	if !ok {
		return nil, apiErr("ResourceNotFoundException", "No node group found for name: "+aws.ToString(in.NodegroupName)+".")
	}
	return &eks.DescribeNodegroupOutput{Nodegroup: ng}, nil
}

func (f *fakeAWS) DescribeAddon(ctx context.Context, in *eks.DescribeAddonInput, _ ...func(*eks.Options)) (*eks.DescribeAddonOutput, error) {
	if err := f.call(ctx, "eks:DescribeAddon"); err != nil {
		return nil, err
	}
	a, ok := f.addons[aws.ToString(in.ClusterName)+"/"+aws.ToString(in.AddonName)]
	if !ok {
		return nil, apiErr("ResourceNotFoundException", "No addon: "+aws.ToString(in.AddonName))
	}
	return &eks.DescribeAddonOutput{Addon: a}, nil
}

func (f *fakeAWS) DescribePodIdentityAssociation(ctx context.Context, in *eks.DescribePodIdentityAssociationInput, _ ...func(*eks.Options)) (*eks.DescribePodIdentityAssociationOutput, error) {
	if err := f.call(ctx, "eks:DescribePodIdentityAssociation"); err != nil {
		return nil, err
	}
	a, ok := f.associations[aws.ToString(in.ClusterName)+"/"+aws.ToString(in.AssociationId)]
	if !ok {
		return nil, apiErr("ResourceNotFoundException", "No Pod Identity Association found for id: "+aws.ToString(in.AssociationId))
	}
	return &eks.DescribePodIdentityAssociationOutput{Association: a}, nil
}

func (f *fakeAWS) DescribeClusterVersions(ctx context.Context, in *eks.DescribeClusterVersionsInput, _ ...func(*eks.Options)) (*eks.DescribeClusterVersionsOutput, error) {
	if err := f.call(ctx, "eks:DescribeClusterVersions"); err != nil {
		return nil, err
	}
	var vs []ekstypes.ClusterVersionInformation
	for _, v := range f.clusterVersions {
		for _, want := range in.ClusterVersions {
			if aws.ToString(v.ClusterVersion) == want {
				vs = append(vs, v)
			}
		}
	}
	out := &eks.DescribeClusterVersionsOutput{}
	var err error
	out.ClusterVersions, out.NextToken, err = page(f, vs, in.NextToken)
	return out, err
}

func (f *fakeAWS) DescribeAddonVersions(ctx context.Context, in *eks.DescribeAddonVersionsInput, _ ...func(*eks.Options)) (*eks.DescribeAddonVersionsOutput, error) {
	if err := f.call(ctx, "eks:DescribeAddonVersions"); err != nil {
		return nil, err
	}
	var vs []ekstypes.AddonVersionInfo
	for _, v := range f.addonVersions {
		var compat []ekstypes.Compatibility
		for _, c := range v.Compatibilities {
			if in.KubernetesVersion == nil || aws.ToString(c.ClusterVersion) == aws.ToString(in.KubernetesVersion) {
				compat = append(compat, c)
			}
		}
		if len(compat) > 0 {
			v.Compatibilities = compat
			vs = append(vs, v)
		}
	}
	out := &eks.DescribeAddonVersionsOutput{}
	vs, next, err := page(f, vs, in.NextToken)
	if len(vs) > 0 {
		out.Addons = []ekstypes.AddonInfo{{AddonName: aws.String("vpc-cni"), AddonVersions: vs}}
	}
	out.NextToken = next
	return out, err
}

// EC2

func (f *fakeAWS) DescribeAvailabilityZones(ctx context.Context, _ *ec2.DescribeAvailabilityZonesInput, _ ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error) {
	if err := f.call(ctx, "ec2:DescribeAvailabilityZones"); err != nil {
		return nil, err
	}
	return &ec2.DescribeAvailabilityZonesOutput{AvailabilityZones: f.zones}, nil
}

func filterValues(fs []ec2types.Filter, name string) []string {
	for _, f := range fs {
		if aws.ToString(f.Name) == name {
			return f.Values
		}
	}
	return nil
}

func (f *fakeAWS) DescribeInstanceTypeOfferings(ctx context.Context, in *ec2.DescribeInstanceTypeOfferingsInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstanceTypeOfferingsOutput, error) {
	if err := f.call(ctx, "ec2:DescribeInstanceTypeOfferings"); err != nil {
		return nil, err
	}
	if in.LocationType != ec2types.LocationTypeAvailabilityZone {
		return nil, fmt.Errorf("fake: location type %q", in.LocationType)
	}
	var offers []ec2types.InstanceTypeOffering
	for _, t := range filterValues(in.Filters, "instance-type") {
		for _, z := range filterValues(in.Filters, "location") {
			if f.offerings[t+"@"+z] {
				offers = append(offers, ec2types.InstanceTypeOffering{
					InstanceType: ec2types.InstanceType(t), Location: aws.String(z), LocationType: ec2types.LocationTypeAvailabilityZone})
			}
		}
	}
	out := &ec2.DescribeInstanceTypeOfferingsOutput{}
	var err error
	out.InstanceTypeOfferings, out.NextToken, err = page(f, offers, in.NextToken)
	return out, err
}

func (f *fakeAWS) DescribeInstanceTypes(ctx context.Context, in *ec2.DescribeInstanceTypesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstanceTypesOutput, error) {
	if err := f.call(ctx, "ec2:DescribeInstanceTypes"); err != nil {
		return nil, err
	}
	var its []ec2types.InstanceTypeInfo
	for _, t := range in.InstanceTypes {
		v, ok := f.vcpus[string(t)]
		if !ok {
			return nil, apiErr("InvalidInstanceType", "The following supplied instance types do not exist: ["+string(t)+"]")
		}
		its = append(its, ec2types.InstanceTypeInfo{InstanceType: t, VCpuInfo: &ec2types.VCpuInfo{DefaultVCpus: aws.Int32(v)}})
	}
	out := &ec2.DescribeInstanceTypesOutput{}
	var err error
	out.InstanceTypes, out.NextToken, err = page(f, its, in.NextToken)
	return out, err
}

func (f *fakeAWS) DescribeInstances(ctx context.Context, _ *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	if err := f.call(ctx, "ec2:DescribeInstances"); err != nil {
		return nil, err
	}
	return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: f.instances}}}, nil
}

func (f *fakeAWS) DescribeVpcs(ctx context.Context, _ *ec2.DescribeVpcsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	if err := f.call(ctx, "ec2:DescribeVpcs"); err != nil {
		return nil, err
	}
	return &ec2.DescribeVpcsOutput{Vpcs: make([]ec2types.Vpc, f.vpcs)}, nil
}

func (f *fakeAWS) DescribeInternetGateways(ctx context.Context, _ *ec2.DescribeInternetGatewaysInput, _ ...func(*ec2.Options)) (*ec2.DescribeInternetGatewaysOutput, error) {
	if err := f.call(ctx, "ec2:DescribeInternetGateways"); err != nil {
		return nil, err
	}
	return &ec2.DescribeInternetGatewaysOutput{InternetGateways: make([]ec2types.InternetGateway, f.igws)}, nil
}

func (f *fakeAWS) DescribeAddresses(ctx context.Context, _ *ec2.DescribeAddressesInput, _ ...func(*ec2.Options)) (*ec2.DescribeAddressesOutput, error) {
	if err := f.call(ctx, "ec2:DescribeAddresses"); err != nil {
		return nil, err
	}
	return &ec2.DescribeAddressesOutput{Addresses: make([]ec2types.Address, f.eips)}, nil
}

func (f *fakeAWS) DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	if err := f.call(ctx, "ec2:DescribeSubnets"); err != nil {
		return nil, err
	}
	out := &ec2.DescribeSubnetsOutput{}
	for _, id := range in.SubnetIds {
		found := false
		for _, s := range f.subnets {
			if aws.ToString(s.SubnetId) == id {
				out.Subnets, found = append(out.Subnets, s), true
			}
		}
		if !found {
			return nil, apiErr("InvalidSubnetID.NotFound", "The subnet ID '"+id+"' does not exist")
		}
	}
	return out, nil
}

// CloudWatch Logs

func (f *fakeAWS) DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	if err := f.call(ctx, "logs:DescribeLogGroups"); err != nil {
		return nil, err
	}
	var gs []logstypes.LogGroup
	for _, name := range slices.Sorted(maps.Keys(f.logGroups)) { // by name, as CloudWatch lists them
		if strings.HasPrefix(name, aws.ToString(in.LogGroupNamePrefix)) {
			gs = append(gs, logstypes.LogGroup{LogGroupName: aws.String(name), RetentionInDays: f.logGroups[name],
				Arn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:" + name + ":*")})
		}
	}
	out := &cloudwatchlogs.DescribeLogGroupsOutput{}
	var err error
	out.LogGroups, out.NextToken, err = page(f, gs, in.NextToken)
	return out, err
}

// S3

func (f *fakeAWS) HeadBucket(ctx context.Context, in *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	if err := f.call(ctx, "s3:HeadBucket"); err != nil {
		return nil, err
	}
	if f.bucket == nil || f.bucket.name != aws.ToString(in.Bucket) {
		return nil, apiErr("NotFound", "")
	}
	return &s3.HeadBucketOutput{}, nil
}

func (f *fakeAWS) GetBucketLocation(ctx context.Context, _ *s3.GetBucketLocationInput, _ ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error) {
	if err := f.call(ctx, "s3:GetBucketLocation"); err != nil {
		return nil, err
	}
	c := s3types.BucketLocationConstraint(f.bucket.region)
	if f.bucket.region == "us-east-1" {
		c = ""
	}
	return &s3.GetBucketLocationOutput{LocationConstraint: c}, nil
}

func (f *fakeAWS) GetBucketVersioning(ctx context.Context, _ *s3.GetBucketVersioningInput, _ ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error) {
	if err := f.call(ctx, "s3:GetBucketVersioning"); err != nil {
		return nil, err
	}
	return &s3.GetBucketVersioningOutput{Status: f.bucket.versioning}, nil
}

func (f *fakeAWS) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	f.stateKeys = append(f.stateKeys, aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key))
	f.mu.Unlock()
	if err := f.call(ctx, "s3:GetObject"); err != nil {
		return nil, err
	}
	if f.stateObject == nil {
		return nil, apiErr("NoSuchKey", "The specified key does not exist.")
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader(string(f.stateObject)))}, nil
}

// Service Quotas

func (f *fakeAWS) GetServiceQuota(ctx context.Context, in *servicequotas.GetServiceQuotaInput, _ ...func(*servicequotas.Options)) (*servicequotas.GetServiceQuotaOutput, error) {
	if err := f.call(ctx, "servicequotas:GetServiceQuota"); err != nil {
		return nil, err
	}
	v, ok := f.quotas[aws.ToString(in.QuotaCode)]
	if !ok {
		return nil, apiErr("NoSuchResourceException", "The request failed because the specified resource does not exist.")
	}
	return &servicequotas.GetServiceQuotaOutput{Quota: &sqtypes.ServiceQuota{QuotaCode: in.QuotaCode, Value: aws.Float64(v),
		QuotaName: aws.String("quota " + aws.ToString(in.QuotaCode))}}, nil
}

func (f *fakeAWS) GetAWSDefaultServiceQuota(ctx context.Context, in *servicequotas.GetAWSDefaultServiceQuotaInput, _ ...func(*servicequotas.Options)) (*servicequotas.GetAWSDefaultServiceQuotaOutput, error) {
	if err := f.call(ctx, "servicequotas:GetAWSDefaultServiceQuota"); err != nil {
		return nil, err
	}
	v, ok := f.defaultQuotas[aws.ToString(in.QuotaCode)]
	if !ok {
		return nil, apiErr("NoSuchResourceException", "no default")
	}
	return &servicequotas.GetAWSDefaultServiceQuotaOutput{Quota: &sqtypes.ServiceQuota{QuotaCode: in.QuotaCode, Value: aws.Float64(v)}}, nil
}
