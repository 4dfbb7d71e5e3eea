package harness_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	sqtypes "github.com/aws/aws-sdk-go-v2/service/servicequotas/types"

	"github.com/tapstack/tapstack/pkg/live"
	"github.com/tapstack/tapstack/test/e2e/harness"
)

func quotasClient(endpoint string) *servicequotas.Client {
	return servicequotas.New(servicequotas.Options{
		Region:       harness.Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// TestFrontServiceQuotas reads the quotas pkg/live checks through aws-sdk-go-v2's Service Quotas client: the EC2
// ones from the front, the VPC ones from moto, and a value a test sets.
func TestFrontServiceQuotas(t *testing.T) {
	t.Parallel()
	moto := harness.StartMoto(t)
	front := harness.StartFront(t, moto.URL)
	c := quotasClient(front.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // generous: CI runs many emulators on two cores
	defer cancel()

	get := func(service, code string) (*sqtypes.ServiceQuota, error) {
		out, err := c.GetServiceQuota(ctx, &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String(service), QuotaCode: aws.String(code)})
		if err != nil {
			return nil, err
		}
		return out.Quota, nil
	}
	getDefault := func(service, code string) (*sqtypes.ServiceQuota, error) {
		out, err := c.GetAWSDefaultServiceQuota(ctx, &servicequotas.GetAWSDefaultServiceQuotaInput{ServiceCode: aws.String(service), QuotaCode: aws.String(code)})
		if err != nil {
			return nil, err
		}
		return out.Quota, nil
	}

	for code, want := range map[string]float64{live.QuotaOnDemandVCPUs: 1152, live.QuotaSpotVCPUs: 1152, live.QuotaEIPs: 5} {
		q, err := get("ec2", code)
		if err != nil {
			t.Fatalf("GetServiceQuota ec2/%s: %v", code, err)
		}
		if aws.ToFloat64(q.Value) != want || aws.ToString(q.QuotaCode) != code || aws.ToString(q.ServiceCode) != "ec2" ||
			aws.ToString(q.QuotaName) == "" || aws.ToString(q.QuotaArn) != "arn:aws:servicequotas:us-east-1:123456789012:ec2/"+code ||
			!q.Adjustable || q.QuotaAppliedAtLevel != sqtypes.AppliedLevelEnumAccount {
			t.Errorf("ec2/%s = %+v, want value %g", code, q, want)
		}
		d, err := getDefault("ec2", code)
		if err != nil || aws.ToFloat64(d.Value) != want || aws.ToString(d.QuotaArn) != "arn:aws:servicequotas:us-east-1::ec2/"+code {
			t.Errorf("default of ec2/%s: %+v, %v", code, d, err)
		}
	}
	q, _ := get("ec2", live.QuotaOnDemandVCPUs)
	if q == nil || q.UsageMetric == nil || q.UsageMetric.MetricDimensions["Class"] != "Standard/OnDemand" {
		t.Errorf("the on-demand vCPU quota's usage metric = %+v", q)
	}

	var noSuch *sqtypes.NoSuchResourceException
	if _, err := get("ec2", "L-00000000"); !errors.As(err, &noSuch) {
		t.Errorf("unknown ec2 quota: %v, want NoSuchResourceException", err)
	}
	if _, err := getDefault("ec2", "L-00000000"); !errors.As(err, &noSuch) {
		t.Errorf("default of an unknown ec2 quota: %v, want NoSuchResourceException", err)
	}

	// moto answers the VPC quotas; the front adds their defaults, which moto lists but does not answer one by one.
	vpcs, err := get("vpc", live.QuotaVPCs)
	if err != nil || aws.ToFloat64(vpcs.Value) != 5 {
		t.Errorf("vpc/%s from moto: %+v, %v; want 5", live.QuotaVPCs, vpcs, err)
	}
	if d, err := getDefault("vpc", live.QuotaIGWs); err != nil || aws.ToString(d.QuotaName) != "Internet gateways per Region" {
		t.Errorf("default of vpc/%s: %+v, %v", live.QuotaIGWs, d, err)
	}
	if _, err := getDefault("vpc", "L-00000000"); !errors.As(err, &noSuch) {
		t.Errorf("default of an unknown vpc quota: %v, want NoSuchResourceException", err)
	}

	// A test lowers a quota: the applied value changes, the default does not.
	front.SetQuota(live.QuotaOnDemandVCPUs, 8)
	front.SetQuota(live.QuotaVPCs, 1)
	if q, err := get("ec2", live.QuotaOnDemandVCPUs); err != nil || aws.ToFloat64(q.Value) != 8 {
		t.Errorf("lowered ec2 quota: %+v, %v; want 8", q, err)
	}
	if d, err := getDefault("ec2", live.QuotaOnDemandVCPUs); err != nil || aws.ToFloat64(d.Value) != 1152 {
		t.Errorf("default of the lowered quota: %+v, %v; want 1152", d, err)
	}
	if q, err := get("vpc", live.QuotaVPCs); err != nil || aws.ToFloat64(q.Value) != 1 || aws.ToString(q.QuotaName) != "VPCs per Region" {
		t.Errorf("lowered vpc quota: %+v, %v; want moto's quota with value 1", q, err)
	}
	if q, err := get("ec2", live.QuotaSpotVCPUs); err != nil || aws.ToFloat64(q.Value) != 1152 {
		t.Errorf("the spot quota changed with the on-demand one: %+v, %v", q, err)
	}
}
