package harness

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// CloudWatch Logs calls moto 5.2.1 lacks: AssociateKmsKey and DisassociateKmsKey. The front keeps the key of
// each group it associated and reports it in DescribeLogGroups; moto itself keeps the key a group is created with.

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
	case "AssociateKmsKey", "DisassociateKmsKey":
		if group == "" || (op == "AssociateKmsKey" && in.KMSKeyID == "") {
			logsError(w, "InvalidParameterException", "logGroupName and kmsKeyId are required")
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
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}
