package harness

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
)

// CloudWatch Logs calls moto 5.2.1 lacks or lets through:
//
//   - AssociateKmsKey and DisassociateKmsKey are missing. The front keeps the key of each group it associated and
//     reports it in DescribeLogGroups; moto itself keeps the key a group is created with.
//   - CreateLogGroup with kmsKeyId and AssociateKmsKey take any key in moto. CloudWatch Logs uses the key as the
//     service principal logs.<region>.amazonaws.com, so the key policy must let that principal use it for the
//     group (eks-behaviour.md L1; keyPolicyRefuses).
//   - DeleteLogGroup of an EKS control-plane group: EKS writes the group again while the cluster logs to it
//     (eks-behaviour.md L2; recreateControlPlaneGroup).

const logsTargetPrefix = "Logs_20140328."

// serveLogs answers the Logs calls moto lacks; it returns false for those that go to moto.
func (f *Front) serveLogs(w http.ResponseWriter, r *http.Request, region string) bool {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), logsTargetPrefix)
	if !ok {
		return false
	}
	var in struct {
		LogGroupName       string `json:"logGroupName"`
		ResourceIdentifier string `json:"resourceIdentifier"`
		KMSKeyID           string `json:"kmsKeyId"`
	}
	_ = json.Unmarshal(peekBody(r), &in)
	group := in.LogGroupName
	if group == "" { // the newer form names the group by ARN: arn:aws:logs:REGION:ACCOUNT:log-group:NAME
		if _, name, found := strings.Cut(in.ResourceIdentifier, ":log-group:"); found {
			group = strings.TrimSuffix(name, ":*")
		}
	}
	key := region + "/" + group
	switch op {
	case "CreateLogGroup":
		return in.KMSKeyID != "" && f.keyPolicyRefuses(w, r, region, group, in.KMSKeyID)
	case "AssociateKmsKey", "DisassociateKmsKey":
		if group == "" || (op == "AssociateKmsKey" && in.KMSKeyID == "") {
			// Message invented: no source gives CloudWatch Logs' wording for a missing parameter.
			logsError(w, "InvalidParameterException", "logGroupName and kmsKeyId are required")
			return true
		}
		if op == "AssociateKmsKey" && f.keyPolicyRefuses(w, r, region, group, in.KMSKeyID) {
			return true
		}
		f.mu.Lock()
		if f.logKeys == nil {
			f.logKeys = map[string]string{}
		}
		if op == "AssociateKmsKey" {
			f.logKeys[key] = in.KMSKeyID
		} else {
			f.logKeys[key] = "" // disassociated: hide the key moto may hold from creation
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte("{}"))
		return true
	case "DeleteLogGroup":
		f.mu.Lock()
		delete(f.logKeys, key)
		f.mu.Unlock()
		if cluster, ok := controlPlaneCluster(group); ok {
			rec := httptest.NewRecorder()
			f.proxy.ServeHTTP(rec, r)
			if rec.Code/100 == 2 {
				if err := f.recreateControlPlaneGroup(r, region, cluster, group); err != nil {
					logsFailed(w, err)
					return true
				}
			}
			relayRecorded(w, rec)
			return true
		}
	case "DescribeLogGroups":
		f.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), rewriteKey{}, &rewrite{op: "DescribeLogGroups", region: region})))
		return true
	}
	return false
}

// logGroupKeys sets, in a DescribeLogGroups answer, the KMS key of every group the front associated or
// disassociated one.
func (f *Front) logGroupKeys(region string, b []byte) []byte {
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return b
	}
	groups, _ := out["logGroups"].([]any)
	f.mu.Lock()
	for _, g := range groups {
		m, _ := g.(map[string]any)
		name, _ := m["logGroupName"].(string)
		if k, ok := f.logKeys[region+"/"+name]; ok {
			if k == "" {
				delete(m, "kmsKeyId")
			} else {
				m["kmsKeyId"] = k
			}
		}
	}
	f.mu.Unlock()
	nb, err := json.Marshal(out)
	if err != nil {
		return b
	}
	return nb
}

func logsError(w http.ResponseWriter, typ, msg string) {
	writeLogsError(w, http.StatusBadRequest, typ, msg)
}

// logsFailed answers a call the front could not complete because moto could not be asked: a harness failure, not
// an AWS behaviour.
func logsFailed(w http.ResponseWriter, err error) {
	writeLogsError(w, http.StatusInternalServerError, "ServiceUnavailableException", "front: "+err.Error())
}

func writeLogsError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

// keyPolicyRefuses answers AccessDeniedException, and returns true, when CloudWatch Logs may not use the KMS key for
// the log group: the key does not exist in the region, or its key policy does not let logs.<region>.amazonaws.com
// use it with the group's encryption context (allowsLogs). CloudWatch Logs user guide, encrypt-log-data-kms: the
// key policy must "allow CloudWatch Logs to use the key", with the statement for the service principal
// logs.<region>.amazonaws.com and, optionally, a condition on kms:EncryptionContext:aws:logs:arn naming the group.
// The message is AWS's (modernisation-platform #7870, terraform-provider-aws #29282): "The specified KMS key does
// not exist or is not allowed to be used with Arn 'arn:aws:logs:REGION:ACCOUNT:log-group:NAME'". The policy is read
// from moto's KMS with the caller's credentials.
func (f *Front) keyPolicyRefuses(w http.ResponseWriter, r *http.Request, region, group, keyID string) bool {
	account, err := f.callerAccount(r, region)
	if err != nil {
		logsFailed(w, err)
		return true
	}
	partition, keyARN := "aws", keyID
	if p := strings.Split(keyID, ":"); len(p) > 1 && p[0] == "arn" {
		partition = p[1]
	} else {
		keyARN = "arn:aws:kms:" + region + ":" + account + ":key/" + keyID
	}
	groupARN := "arn:" + partition + ":logs:" + region + ":" + account + ":log-group:" + group
	policy, found, err := f.keyPolicy(r, region, keyID)
	if err != nil {
		logsFailed(w, err)
		return true
	}
	req := logsRequest{service: "logs." + region + ".amazonaws.com", keyARN: keyARN, groupARN: groupARN}
	if found && allowsLogs(policy, req) {
		return false
	}
	logsError(w, "AccessDeniedException",
		"The specified KMS key does not exist or is not allowed to be used with Arn '"+groupARN+"'")
	return true
}

// callerAccount asks moto's STS for the caller's account.
func (f *Front) callerAccount(r *http.Request, region string) (string, error) {
	status, raw, err := f.askMoto(r, http.MethodPost, "/", []byte("Action=GetCallerIdentity&Version=2011-06-15"),
		map[string]string{"Authorization": scopedAuth(r, region, "sts"), "Content-Type": "application/x-www-form-urlencoded"})
	var out struct {
		Account string `xml:"GetCallerIdentityResult>Account"`
	}
	if err != nil || status != http.StatusOK || xml.Unmarshal(raw, &out) != nil || out.Account == "" {
		return "", fmt.Errorf("ask moto's STS for the caller's account: HTTP %d, %v: %s", status, err, raw)
	}
	return out.Account, nil
}

// keyPolicy asks moto's KMS in region for a key's default key policy; found is false when there is no such key.
// (GetKeyPolicy, not DescribeKey: moto 5.2.1 applies a key policy's Deny statements to DescribeKey whatever their
// principal, so the caller could be refused what only CloudWatch Logs is denied.)
func (f *Front) keyPolicy(r *http.Request, region, keyID string) (policy string, found bool, err error) {
	b, _ := json.Marshal(map[string]string{"KeyId": keyID, "PolicyName": "default"})
	status, raw, err := f.askMoto(r, http.MethodPost, "/", b, map[string]string{
		"Authorization": scopedAuth(r, region, "kms"), "Content-Type": "application/x-amz-json-1.1",
		"X-Amz-Target": "TrentService.GetKeyPolicy"})
	if err != nil {
		return "", false, err
	}
	var out struct {
		Type   string `json:"__type"`
		Policy string `json:"Policy"`
	}
	if json.Unmarshal(raw, &out) == nil && status != http.StatusOK && out.Type == "NotFoundException" {
		return "", false, nil
	}
	if status != http.StatusOK || out.Policy == "" {
		return "", false, fmt.Errorf("moto answered KMS GetKeyPolicy with HTTP %d: %s", status, raw)
	}
	return out.Policy, true, nil
}

// controlPlaneCluster returns the cluster of an EKS control-plane log group, /aws/eks/<cluster>/cluster (EKS user
// guide, control-plane-logs).
func controlPlaneCluster(group string) (string, bool) {
	rest, ok := strings.CutPrefix(group, "/aws/eks/")
	if !ok {
		return "", false
	}
	cluster, ok := strings.CutSuffix(rest, "/cluster")
	if !ok || cluster == "" || strings.Contains(cluster, "/") {
		return "", false
	}
	return cluster, true
}

// recreateControlPlaneGroup creates the control-plane log group again, plain (no retention, no key), after moto
// deleted it, when the cluster exists in moto with a log type enabled: EKS writes its control-plane logs to that
// group and creates it when it is missing, so a group deleted while the cluster still logs comes back
// (terraform-aws-eks #920: "When the Terraform destroys the Cloudwatch Log Group, the EKS Cluster that is running
// create it again"; #2763, where CloudTrail shows the cluster, not the role, creating it). EKS does so when it next
// writes; the front does it at once.
func (f *Front) recreateControlPlaneGroup(r *http.Request, region, cluster, group string) error {
	status, raw, err := f.askMoto(r, http.MethodGet, "/clusters/"+url.PathEscape(cluster), nil,
		map[string]string{"Authorization": scopedAuth(r, region, "eks")})
	if err != nil {
		return fmt.Errorf("ask moto for cluster %s: %w", cluster, err)
	}
	if status == http.StatusNotFound {
		return nil
	}
	var out struct {
		Cluster struct {
			Logging struct {
				ClusterLogging []struct {
					Types   []string `json:"types"`
					Enabled bool     `json:"enabled"`
				} `json:"clusterLogging"`
			} `json:"logging"`
		} `json:"cluster"`
	}
	if status != http.StatusOK || json.Unmarshal(raw, &out) != nil {
		return fmt.Errorf("moto answered DescribeCluster %s with HTTP %d: %s", cluster, status, raw)
	}
	logging := false
	for _, l := range out.Cluster.Logging.ClusterLogging {
		logging = logging || (l.Enabled && len(l.Types) > 0)
	}
	if !logging {
		return nil
	}
	body, _ := json.Marshal(map[string]string{"logGroupName": group})
	status, raw, err = f.askMoto(r, http.MethodPost, "/", body, map[string]string{
		"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": logsTargetPrefix + "CreateLogGroup"})
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("create log group %s again as EKS would: HTTP %d, %v: %s", group, status, err, raw)
	}
	return nil
}
