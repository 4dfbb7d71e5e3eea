package harness

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// What the front reads from moto's IAM, STS and KMS to decide as EKS would: who calls, what a role may do and
// whom it trusts, and what a key is. Each call goes with the caller's credentials, rescoped to the service (moto
// checks no signature).

// rescope returns r's Authorization header scoped to service in the harness's region.
func rescope(r *http.Request, service string) string {
	return scopeService.ReplaceAllStringFunc(r.Header.Get("Authorization"), func(s string) string {
		m := scopeService.FindStringSubmatch(s)
		return strings.Replace(s, "/"+m[1]+"/"+m[2]+"/", "/"+Region+"/"+service+"/", 1)
	})
}

// askQuery sends one query-protocol call (IAM, STS) to moto: HTTP status and body.
func (f *Front) askQuery(r *http.Request, service string, form url.Values) (int, []byte, error) {
	return f.askMoto(r, http.MethodPost, "/", []byte(form.Encode()),
		map[string]string{"Authorization": rescope(r, service), "Content-Type": "application/x-www-form-urlencoded"})
}

// callerARN is the IAM principal of the caller, as EKS records the cluster creator: a user's ARN, or the role of
// an assumed-role session (EKS user guide, access-entries: the creator's entry names the IAM principal).
func (f *Front) callerARN(r *http.Request) (string, error) {
	status, raw, err := f.askQuery(r, "sts", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}})
	if err != nil || status != http.StatusOK {
		return "", fmt.Errorf("moto's GetCallerIdentity: HTTP %d, %v: %s", status, err, raw)
	}
	var out struct {
		Arn string `xml:"GetCallerIdentityResult>Arn"`
	}
	if err := xml.Unmarshal(raw, &out); err != nil {
		return "", err
	}
	arn := strings.Replace(out.Arn, ":sts::", ":iam::", 1) // moto names users arn:aws:sts::ACCOUNT:user/NAME
	if prefix, rest, ok := strings.Cut(arn, ":assumed-role/"); ok {
		role, _, _ := strings.Cut(rest, "/")
		arn = prefix + ":role/" + role
	}
	return arn, nil
}

// roleInfo is what EKS needs of an IAM role.
type roleInfo struct {
	exists   bool
	trust    keyPolicy // a role's trust policy has a key policy's shape
	policies []string  // attached managed policy ARNs
}

// principals returns the principals of one type (Federated, Service, AWS) a statement names.
func principals(raw json.RawMessage, typ string) []string {
	var byType map[string]oneOrMany[string]
	if json.Unmarshal(raw, &byType) != nil {
		return nil
	}
	return byType[typ]
}

// anyStrings returns a condition value that is a string or a list of strings as a list.
func anyStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// role reads a role from moto by ARN: whether it exists, its trust policy and its attached managed policies.
func (f *Front) role(r *http.Request, arn string) (roleInfo, error) {
	name := arn[strings.LastIndex(arn, "/")+1:]
	status, raw, err := f.askQuery(r, "iam", url.Values{"Action": {"GetRole"}, "RoleName": {name}, "Version": {"2010-05-08"}})
	if err != nil {
		return roleInfo{}, err
	}
	if status != http.StatusOK {
		if strings.Contains(string(raw), "NoSuchEntity") {
			return roleInfo{}, nil
		}
		return roleInfo{}, fmt.Errorf("moto's GetRole %s: HTTP %d: %s", name, status, raw)
	}
	var got struct {
		Arn   string `xml:"GetRoleResult>Role>Arn"`
		Trust string `xml:"GetRoleResult>Role>AssumeRolePolicyDocument"`
	}
	if err := xml.Unmarshal(raw, &got); err != nil {
		return roleInfo{}, err
	}
	if got.Arn != arn {
		return roleInfo{}, nil // the same name on another path is another role
	}
	info := roleInfo{exists: true}
	doc, err := url.QueryUnescape(got.Trust)
	if err != nil {
		doc = got.Trust
	}
	_ = json.Unmarshal([]byte(doc), &info.trust)
	status, raw, err = f.askQuery(r, "iam", url.Values{"Action": {"ListAttachedRolePolicies"}, "RoleName": {name},
		"Version": {"2010-05-08"}, "MaxItems": {"1000"}})
	if err != nil || status != http.StatusOK {
		return roleInfo{}, fmt.Errorf("moto's ListAttachedRolePolicies %s: HTTP %d, %v: %s", name, status, err, raw)
	}
	var att struct {
		Arns []string `xml:"ListAttachedRolePoliciesResult>AttachedPolicies>member>PolicyArn"`
	}
	if err := xml.Unmarshal(raw, &att); err != nil {
		return roleInfo{}, err
	}
	info.policies = att.Arns
	return info, nil
}

// hasPolicy reports whether the role has one of the AWS managed policies named (by their name).
func (ri roleInfo) hasPolicy(names ...string) bool {
	for _, p := range ri.policies {
		for _, n := range names {
			if strings.HasSuffix(p, ":policy/"+n) {
				return true
			}
		}
	}
	return false
}

// oidcProviderExists reports whether moto's IAM has the OIDC provider of an issuer.
func (f *Front) oidcProviderExists(r *http.Request, providerARN string) (bool, error) {
	status, _, err := f.askQuery(r, "iam", url.Values{"Action": {"GetOpenIDConnectProvider"},
		"OpenIDConnectProviderArn": {providerARN}, "Version": {"2010-05-08"}})
	if err != nil {
		return false, err
	}
	return status == http.StatusOK, nil
}

// trustsServiceAccount reports whether a role's trust policy lets the service account namespace/name of the
// cluster with this OIDC issuer assume it through IRSA (EKS user guide, associate-service-account-role: the
// Federated principal is the cluster's OIDC provider, the action sts:AssumeRoleWithWebIdentity, and a condition
// on <issuer>:sub names system:serviceaccount:<namespace>:<name>).
func (ri roleInfo) trustsServiceAccount(providerARN, issuer, namespace, name string) bool {
	host := strings.TrimPrefix(issuer, "https://")
	sub := "system:serviceaccount:" + namespace + ":" + name
	for _, s := range ri.trust.Statement {
		if s.Effect != "Allow" || !contains(principals(s.Principal, "Federated"), providerARN) ||
			!contains(s.Action, "sts:AssumeRoleWithWebIdentity") {
			continue
		}
		for op, conds := range s.Condition {
			for k, v := range conds {
				if k != host+":sub" {
					continue
				}
				for _, want := range anyStrings(v) {
					if want == sub || (strings.HasPrefix(op, "StringLike") && globMatch(want, sub)) {
						return true
					}
				}
			}
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// kmsKey is what EKS checks of a key for secrets encryption.
type kmsKey struct {
	exists      bool
	arn, state  string
	spec, usage string
}

// describeKey reads a key from moto's KMS (JSON protocol), by ID or ARN.
func (f *Front) describeKey(r *http.Request, keyID string) (kmsKey, error) {
	body, _ := json.Marshal(map[string]string{"KeyId": keyID})
	status, raw, err := f.askMoto(r, http.MethodPost, "/", body, map[string]string{
		"Authorization": rescope(r, "kms"), "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.DescribeKey",
	})
	if err != nil {
		return kmsKey{}, err
	}
	if status != http.StatusOK {
		if strings.Contains(string(raw), "NotFoundException") {
			return kmsKey{}, nil
		}
		return kmsKey{}, fmt.Errorf("moto's DescribeKey %s: HTTP %d: %s", keyID, status, raw)
	}
	var out struct {
		KeyMetadata struct {
			Arn      string `json:"Arn"`
			KeyState string `json:"KeyState"`
			KeySpec  string `json:"KeySpec"`
			KeyUsage string `json:"KeyUsage"`
		} `json:"KeyMetadata"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return kmsKey{}, err
	}
	m := out.KeyMetadata
	return kmsKey{exists: true, arn: m.Arn, state: m.KeyState, spec: m.KeySpec, usage: m.KeyUsage}, nil
}

// trustsService reports whether a role's trust policy lets a service principal take every one of actions.
func (ri roleInfo) trustsService(service string, actions ...string) bool {
	for _, want := range actions {
		found := false
		for _, s := range ri.trust.Statement {
			if s.Effect == "Allow" && contains(principals(s.Principal, "Service"), service) && contains(s.Action, want) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
