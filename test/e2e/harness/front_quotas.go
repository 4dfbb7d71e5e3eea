package harness

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Service Quotas (JSON 1.1, X-Amz-Target ServiceQuotasV20190624.<Operation>). moto 5.2.1 answers GetServiceQuota
// for the vpc service only and does not implement GetAWSDefaultServiceQuota; the front answers both for the EC2
// quotas pkg/live reads, and GetAWSDefaultServiceQuota for the other services from moto's own default list.

const (
	quotasTargetPrefix = "ServiceQuotasV20190624."
	// motoAccount is moto's default account, the only one the harness uses.
	motoAccount = "123456789012"
	ec2Service  = "Amazon Elastic Compute Cloud (Amazon EC2)"
)

// fixtureQuota is one EC2 quota the front serves.
type fixtureQuota struct {
	name  string
	value float64
	usage map[string]any // the CloudWatch usage metric, when the quota has one
}

func vcpuUsage(class string) map[string]any {
	return map[string]any{
		"MetricNamespace": "AWS/Usage", "MetricName": "ResourceCount", "MetricStatisticRecommendation": "Maximum",
		"MetricDimensions": map[string]string{"Class": class, "Resource": "vCPU", "Service": "EC2", "Type": "Resource"},
	}
}

// ec2Quotas are test values, not AWS's defaults for a new account (those are lower and change): 1152 vCPUs is
// what an established account commonly shows; 5 Elastic IPs is the documented default per region.
var ec2Quotas = map[string]fixtureQuota{
	"L-1216C47A": {"Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", 1152, vcpuUsage("Standard/OnDemand")},
	"L-34B43A08": {"All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests", 1152, vcpuUsage("Standard/Spot")},
	"L-0263D0A3": {"EC2-VPC Elastic IPs", 5, nil},
}

// quotaValues are the quota values tests set with SetQuota, by quota code.
type quotaValues struct {
	mu     sync.Mutex
	values map[string]float64
}

func (f *Front) quotaValues() *quotaValues {
	f.quotaOnce.Do(func() { f.quotas = &quotaValues{values: map[string]float64{}} })
	return f.quotas
}

// SetQuota sets the account's applied value of a quota (as an approved increase, or a lowered limit, would):
// GetServiceQuota answers it from then on, GetAWSDefaultServiceQuota still answers the default. It works for the
// EC2 codes the front serves and for any code moto's GetServiceQuota knows (the vpc service).
func (f *Front) SetQuota(code string, value float64) {
	q := f.quotaValues()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.values[code] = value
}

func (f *Front) appliedQuota(code string) (float64, bool) {
	q := f.quotaValues()
	q.mu.Lock()
	defer q.mu.Unlock()
	v, ok := q.values[code]
	return v, ok
}

type quotaRequest struct {
	ServiceCode string `json:"ServiceCode"`
	QuotaCode   string `json:"QuotaCode"`
}

// serveQuotas answers the Service Quotas calls moto lacks; it returns false for those that go to moto.
func (f *Front) serveQuotas(w http.ResponseWriter, r *http.Request, region string) bool {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), quotasTargetPrefix)
	if !ok || (op != "GetServiceQuota" && op != "GetAWSDefaultServiceQuota") {
		return false
	}
	var req quotaRequest
	if err := json.Unmarshal(peekBody(r), &req); err != nil {
		quotasError(w, http.StatusBadRequest, "IllegalArgumentException", "could not parse the request: "+err.Error())
		return true
	}
	if req.ServiceCode == "" || req.QuotaCode == "" {
		quotasError(w, http.StatusBadRequest, "IllegalArgumentException", "ServiceCode and QuotaCode are required")
		return true
	}
	def := op == "GetAWSDefaultServiceQuota"
	if req.ServiceCode == "ec2" {
		fq, known := ec2Quotas[req.QuotaCode]
		if !known {
			quotasError(w, http.StatusBadRequest, "NoSuchResourceException",
				"The request failed because the specified quota "+req.QuotaCode+" does not exist for service ec2.")
			return true
		}
		value, arn := fq.value, "arn:aws:servicequotas:"+region+"::ec2/"+req.QuotaCode
		if !def {
			arn = "arn:aws:servicequotas:" + region + ":" + motoAccount + ":ec2/" + req.QuotaCode
			if v, ok := f.appliedQuota(req.QuotaCode); ok {
				value = v
			}
		}
		q := map[string]any{
			"ServiceCode": "ec2", "ServiceName": ec2Service, "QuotaArn": arn, "QuotaCode": req.QuotaCode,
			"QuotaName": fq.name, "Value": value, "Unit": "None", "Adjustable": true, "GlobalQuota": false,
		}
		if fq.usage != nil {
			q["UsageMetric"] = fq.usage
		}
		if !def {
			q["QuotaAppliedAtLevel"] = "ACCOUNT"
		}
		writeQuotas(w, http.StatusOK, map[string]any{"Quota": q})
		return true
	}
	if def {
		f.defaultFromMoto(w, r, req)
		return true
	}
	if v, ok := f.appliedQuota(req.QuotaCode); ok {
		f.patchMotoQuota(w, r, v)
		return true
	}
	return false
}

// defaultFromMoto answers GetAWSDefaultServiceQuota from moto's ListAWSDefaultServiceQuotas.
func (f *Front) defaultFromMoto(w http.ResponseWriter, r *http.Request, req quotaRequest) {
	body, _ := json.Marshal(map[string]string{"ServiceCode": req.ServiceCode})
	status, raw, err := f.askQuotas(r, quotasTargetPrefix+"ListAWSDefaultServiceQuotas", body)
	if err != nil {
		quotasError(w, http.StatusInternalServerError, "ServiceException", "front: ask moto: "+err.Error())
		return
	}
	if status != http.StatusOK {
		relay(w, status, raw)
		return
	}
	var list struct {
		Quotas []map[string]any `json:"Quotas"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		quotasError(w, http.StatusInternalServerError, "ServiceException", "front: moto's default quotas: "+err.Error())
		return
	}
	for _, q := range list.Quotas {
		if q["QuotaCode"] == req.QuotaCode {
			writeQuotas(w, http.StatusOK, map[string]any{"Quota": q})
			return
		}
	}
	quotasError(w, http.StatusBadRequest, "NoSuchResourceException",
		"The request failed because the specified quota "+req.QuotaCode+" does not exist for service "+req.ServiceCode+".")
}

// patchMotoQuota answers GetServiceQuota with moto's quota and the value a test set.
func (f *Front) patchMotoQuota(w http.ResponseWriter, r *http.Request, value float64) {
	status, raw, err := f.askQuotas(r, r.Header.Get("X-Amz-Target"), peekBody(r))
	if err != nil {
		quotasError(w, http.StatusInternalServerError, "ServiceException", "front: ask moto: "+err.Error())
		return
	}
	var out map[string]map[string]any
	if status != http.StatusOK || json.Unmarshal(raw, &out) != nil || out["Quota"] == nil {
		relay(w, status, raw)
		return
	}
	out["Quota"]["Value"] = value
	writeQuotas(w, http.StatusOK, out)
}

// askQuotas sends one Service Quotas call to moto with the caller's credentials: HTTP status and body.
func (f *Front) askQuotas(r *http.Request, target string, body []byte) (int, []byte, error) {
	return f.askMoto(r, http.MethodPost, "/", body,
		map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
}

func relay(w http.ResponseWriter, status int, raw []byte) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}

func writeQuotas(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(fmt.Sprintf(`{"__type":"ServiceException","message":%q}`, err.Error()))
	}
	relay(w, status, b)
}

// quotasError writes a JSON 1.1 error: the type in __type (and x-amzn-ErrorType), the message beside it.
func quotasError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("x-amzn-ErrorType", typ)
	writeQuotas(w, status, map[string]string{"__type": typ, "message": msg})
}
