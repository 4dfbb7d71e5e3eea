package live

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"

	"github.com/tapstack/tapstack/pkg/rules"
)

// Service Quotas codes the checks read.
const (
	QuotaVPCs           = "L-F678F1CE" // vpc: VPCs per Region
	QuotaIGWs           = "L-A4707A72" // vpc: Internet gateways per Region
	QuotaEIPs           = "L-0263D0A3" // ec2: EC2-VPC Elastic IPs
	QuotaOnDemandVCPUs  = "L-1216C47A" // ec2: Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances
	QuotaSpotVCPUs      = "L-34B43A08" // ec2: All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests
	quotaActions        = "servicequotas:GetServiceQuota"
	quotaDefaultActions = "servicequotas:GetAWSDefaultServiceQuota"
)

func init() {
	register(Check{ID: "TS813", Name: "VPCs per region quota", Actions: []string{quotaActions, quotaDefaultActions, "ec2:DescribeVpcs"}, run: checkVPCQuota})
	register(Check{ID: "TS814", Name: "internet gateways per region quota", Actions: []string{quotaActions, quotaDefaultActions, "ec2:DescribeInternetGateways"}, run: checkIGWQuota})
	register(Check{ID: "TS815", Name: "Elastic IPs quota", Actions: []string{quotaActions, quotaDefaultActions, "ec2:DescribeAddresses"}, run: checkEIPQuota})
	register(Check{ID: "TS816", Name: "On-Demand vCPU quota at maximum size",
		Actions: []string{quotaActions, quotaDefaultActions, "ec2:DescribeInstanceTypes", "ec2:DescribeInstances"}, run: checkOnDemandVCPUs})
	register(Check{ID: "TS817", Name: "Spot vCPU quota at maximum size",
		Actions: []string{quotaActions, quotaDefaultActions, "ec2:DescribeInstanceTypes", "ec2:DescribeInstances"}, run: checkSpotVCPUs})
}

// quota returns a quota's applied value, or its AWS default when the account has no applied value.
func quota(ctx context.Context, c QuotasAPI, service, code string) (float64, string, error) {
	out, err := c.GetServiceQuota(ctx, &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String(service), QuotaCode: aws.String(code)})
	if err == nil && out.Quota != nil && out.Quota.Value != nil {
		return *out.Quota.Value, aws.ToString(out.Quota.QuotaName), nil
	}
	if err != nil && !hasCode(err, "NoSuchResourceException") {
		return 0, "", wrap("servicequotas:GetServiceQuota", err)
	}
	def, err := c.GetAWSDefaultServiceQuota(ctx, &servicequotas.GetAWSDefaultServiceQuotaInput{ServiceCode: aws.String(service), QuotaCode: aws.String(code)})
	if err != nil {
		return 0, "", wrap("servicequotas:GetAWSDefaultServiceQuota", err)
	}
	if def.Quota == nil || def.Quota.Value == nil {
		return 0, "", wrap("servicequotas:GetAWSDefaultServiceQuota", fmt.Errorf("quota %s/%s has no value", service, code))
	}
	return *def.Quota.Value, aws.ToString(def.Quota.QuotaName), nil
}

// planned is how many resources of a type this run creates: those the document declares (or fallback without a
// document) minus those the state already holds.
func (e *env) planned(typ string, fallback int) int {
	n := fallback
	if e.in.Doc != nil {
		n = len(e.in.Doc.OfType(typ))
	}
	return n - e.in.InState.Count(typ)
}

// countQuota compares usage plus what the stack adds against a quota.
func countQuota(ctx context.Context, e *env, what, typ string, fallback int, service, code, path string,
	usage func(context.Context) (int, error)) ([]rules.Finding, string, error) {
	need := e.planned(typ, fallback)
	if need <= 0 {
		return nil, "the stack creates no new " + what, nil
	}
	limit, name, err := quota(ctx, e.c.Quotas, service, code)
	if err != nil {
		return nil, "", err
	}
	used, err := usage(ctx)
	if err != nil {
		return nil, "", err
	}
	note := fmt.Sprintf("%d of %g in use, the stack adds %d", used, limit, need)
	if float64(used+need) <= limit {
		return nil, note, nil
	}
	if name == "" {
		name = code
	}
	return []rules.Finding{{Path: path, Message: fmt.Sprintf(
		"%s: %d in use of a quota of %g in %s, and the stack needs %d more: creation fails with a limit error",
		what, used, limit, e.cfg.Region, need),
		Fix: fmt.Sprintf("request an increase of %q (%s/%s) in Service Quotas, or free some", name, service, code)}}, note, nil
}

func checkVPCQuota(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	return countQuota(ctx, e, "VPCs", "aws_vpc", 1, "vpc", QuotaVPCs, "network.vpcCIDR", func(ctx context.Context) (int, error) {
		n := 0
		p := ec2.NewDescribeVpcsPaginator(e.c.EC2, &ec2.DescribeVpcsInput{})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, wrap("ec2:DescribeVpcs", err)
			}
			n += len(out.Vpcs)
		}
		return n, nil
	})
}

func checkIGWQuota(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	return countQuota(ctx, e, "internet gateways", "aws_internet_gateway", 1, "vpc", QuotaIGWs, "network", func(ctx context.Context) (int, error) {
		n := 0
		p := ec2.NewDescribeInternetGatewaysPaginator(e.c.EC2, &ec2.DescribeInternetGatewaysInput{})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return 0, wrap("ec2:DescribeInternetGateways", err)
			}
			n += len(out.InternetGateways)
		}
		return n, nil
	})
}

func checkEIPQuota(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	return countQuota(ctx, e, "Elastic IPs", "aws_eip", e.natGateways(), "ec2", QuotaEIPs, "network.natGateways", func(ctx context.Context) (int, error) {
		out, err := e.c.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
		if err != nil {
			return 0, wrap("ec2:DescribeAddresses", err)
		}
		return len(out.Addresses), nil
	})
}

// natGateways is how many NAT gateways (each with an Elastic IP) the configuration asks for.
func (e *env) natGateways() int {
	n := e.cfg.Network
	if n.Topology != "private" {
		return 0
	}
	if n.NATGateways == "per-zone" {
		return min(len(n.PrivateSubnetCIDRs), len(n.PublicSubnetCIDRs))
	}
	return 1
}

// StandardFamily reports whether an instance type counts against the standard (A, C, D, H, I, M, R, T, Z) vCPU
// quotas; other families (G, P, X, Inf, DL, Trn, VT, F, U, Mac, HPC) have quotas of their own.
func StandardFamily(instanceType string) bool {
	fam := strings.ToLower(strings.SplitN(instanceType, ".", 2)[0])
	i := strings.IndexFunc(fam, unicode.IsDigit)
	if i <= 0 {
		return false
	}
	return slices.Contains([]string{"a", "c", "d", "h", "i", "im", "is", "m", "r", "t", "z"}, fam[:i])
}

func checkOnDemandVCPUs(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	return vcpuQuota(ctx, e, "ON_DEMAND", QuotaOnDemandVCPUs, "On-Demand")
}

func checkSpotVCPUs(ctx context.Context, e *env) ([]rules.Finding, string, error) {
	return vcpuQuota(ctx, e, "SPOT", QuotaSpotVCPUs, "Spot")
}

// vcpuQuota compares the vCPUs the account runs (outside the stack's own node groups) plus what the node groups
// of a capacity type need at maximum size (the largest of their instance types) against the standard-family
// vCPU quota.
func vcpuQuota(ctx context.Context, e *env, capacity, code, label string) ([]rules.Finding, string, error) {
	var groups []nodeGroup
	for _, ng := range nodeGroups(e.cfg) {
		if ng.Capacity == capacity {
			groups = append(groups, ng)
		}
	}
	if len(groups) == 0 {
		return nil, "no " + label + " node groups", nil
	}
	types := map[string]bool{}
	var skipped []string
	for _, ng := range groups {
		for _, t := range ng.Group.InstanceTypes {
			if StandardFamily(t) {
				types[t] = true
			} else if !slices.Contains(skipped, t) {
				skipped = append(skipped, t)
			}
		}
	}
	if len(types) == 0 {
		return nil, "no standard-family instance types (" + list(skipped) + " have quotas of their own)", nil
	}
	limit, name, err := quota(ctx, e.c.Quotas, "ec2", code)
	if err != nil {
		return nil, "", err
	}
	// What the account runs now, without the stack's own node groups' instances.
	own := map[string]bool{}
	for _, ng := range nodeGroups(e.cfg) {
		own[ng.Name] = true
	}
	usedTypes := map[string]int{}
	in := &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running"}}}}
	p := ec2.NewDescribeInstancesPaginator(e.c.EC2, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, "", wrap("ec2:DescribeInstances", err)
		}
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				spot := i.InstanceLifecycle == ec2types.InstanceLifecycleTypeSpot
				if spot != (capacity == "SPOT") || !StandardFamily(string(i.InstanceType)) || own[tag(i.Tags, "eks:nodegroup-name")] {
					continue
				}
				usedTypes[string(i.InstanceType)]++
			}
		}
	}
	all := map[string]bool{}
	for t := range types {
		all[t] = true
	}
	for t := range usedTypes {
		all[t] = true
	}
	vcpus, unknown, err := instanceVCPUs(ctx, e.c.EC2, sortedKeys(all))
	if err != nil {
		return nil, "", err
	}
	if len(unknown) > 0 {
		return []rules.Finding{{Path: groups[0].Path + ".instanceTypes", Message: fmt.Sprintf(
			"EC2 in %s does not know the instance type(s) %s", e.cfg.Region, list(unknown)),
			Fix: "use instance types EC2 offers (aws ec2 describe-instance-types)"}}, "", nil
	}
	used := 0
	for t, n := range usedTypes {
		used += n * vcpus[t]
	}
	need := 0
	var parts []string
	for _, ng := range groups {
		largest := 0
		for _, t := range ng.Group.InstanceTypes {
			largest = max(largest, vcpus[t])
		}
		need += ng.Group.MaxSize * largest
		parts = append(parts, fmt.Sprintf("%s %d x %d", ng.Name, ng.Group.MaxSize, largest))
	}
	note := fmt.Sprintf("%d vCPUs in use of %g; node groups at maximum size need %d (%s)", used, limit, need, strings.Join(parts, ", "))
	if len(skipped) > 0 {
		note += "; not counted: " + list(skipped)
	}
	if float64(used+need) <= limit {
		return nil, note, nil
	}
	if name == "" {
		name = code
	}
	return []rules.Finding{{Kind: rules.WouldFail, Path: groups[0].Path + ".maxSize", Message: fmt.Sprintf(
		"%s vCPUs: %d in use and the node groups need %d at maximum size, above the account's quota of %g in %s: "+
			"nodes beyond it fail to launch (VcpuLimitExceeded)", label, used, need, limit, e.cfg.Region),
		Fix: fmt.Sprintf("request an increase of %q (ec2/%s) in Service Quotas, or lower maxSize", name, code)}}, note, nil
}

func tag(ts []ec2types.Tag, key string) string {
	for _, t := range ts {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// instanceVCPUs returns the default vCPU count of each instance type, and the types EC2 does not know. EC2
// refuses a whole call that names an unknown type, so after such a refusal each type is asked for alone.
func instanceVCPUs(ctx context.Context, c EC2API, types []string) (map[string]int, []string, error) {
	out := map[string]int{}
	describe := func(batch []string) error {
		in := &ec2.DescribeInstanceTypesInput{}
		for _, b := range batch {
			in.InstanceTypes = append(in.InstanceTypes, ec2types.InstanceType(b))
		}
		p := ec2.NewDescribeInstanceTypesPaginator(c, in)
		for p.HasMorePages() {
			res, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, it := range res.InstanceTypes {
				if it.VCpuInfo != nil && it.VCpuInfo.DefaultVCpus != nil {
					out[string(it.InstanceType)] = int(*it.VCpuInfo.DefaultVCpus)
				}
			}
		}
		return nil
	}
	var unknown []string
	err := describe(types)
	switch {
	case hasCode(err, "InvalidInstanceType"):
		for _, t := range types {
			if err := describe([]string{t}); hasCode(err, "InvalidInstanceType") {
				unknown = append(unknown, t)
			} else if err != nil {
				return nil, nil, wrap("ec2:DescribeInstanceTypes", err)
			}
		}
	case err != nil:
		return nil, nil, wrap("ec2:DescribeInstanceTypes", err)
	}
	for _, t := range types {
		if _, ok := out[t]; !ok && !slices.Contains(unknown, t) {
			unknown = append(unknown, t)
		}
	}
	return out, unknown, nil
}
