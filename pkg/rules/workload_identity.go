package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tapstack/tapstack/pkg/config"
)

// The workload identity rules' IDs.
const (
	IDWorkloadNames     = "TS118"
	IDWorkloadDuplicate = "TS119"
	IDWorkloadPolicies  = "TS120"
	IDWorkloadAgent     = "TS121"
)

// managedPolicyPattern is an IAM managed policy ARN: AWS's own (account "aws") or a customer's (12 digits), with
// an optional path, in any partition (aws, aws-cn, aws-us-gov, aws-iso-b, ...). IAM User Guide,
// reference_identifiers (ARNs) and reference_iam-quotas (names: letters, digits and +=,.@_-, 128 characters).
var managedPolicyPattern = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::(aws|[0-9]{12}):policy/([\x21-\x7e]+/)?[A-Za-z0-9+=,.@_-]{1,128}$`)

// IAM quotas (IAM User Guide, reference_iam-quotas): the inline policies of a role hold at most 10,240
// characters, white space not counted; a role holds at most 20 managed policies (10 unless the quota is raised).
const (
	inlineRolePolicyMax = 10240
	managedPerRoleMax   = 20
)

var actionPattern = regexp.MustCompile(`^(\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$`)

func init() {
	register(Rule{ID: IDWorkloadNames, Kind: Invalid, Summary: "workload identities name valid Kubernetes namespaces and service accounts",
		Check: func(in *Input) []Finding {
			var fs []Finding
			for i, w := range in.Config.WorkloadIdentities {
				p := fmt.Sprintf("workloadIdentities[%d]", i)
				// Kubernetes' own rules (k8s.io/apimachinery/pkg/api/validation): ValidateNamespaceName is a DNS-1123
				// label, ValidateServiceAccountName a DNS-1123 subdomain.
				fs = append(fs, k8sName(p+".namespace", "namespace", w.Namespace, validation.IsDNS1123Label, "such as orders")...)
				fs = append(fs, k8sName(p+".serviceAccount", "service account", w.ServiceAccount, validation.IsDNS1123Subdomain, "such as orders-api")...)
				if w.Name != "" { // it names Terraform addresses and the role: a DNS-1123 label fits both
					if errs := validation.IsDNS1123Label(w.Name); len(errs) > 0 {
						fs = append(fs, Finding{Path: p + ".name", Message: fmt.Sprintf("%q is not a valid name: %s", w.Name, strings.Join(errs, "; ")),
							Fix: "use lowercase letters, digits and hyphens, starting and ending with a letter or digit, such as orders-api; or leave it out for <namespace>-<serviceAccount>"})
					}
				}
			}
			return fs
		}})
	register(Rule{ID: IDWorkloadDuplicate, Kind: Invalid, Summary: "no two workload identities share a namespace and service account, or a name",
		Check: func(in *Input) []Finding {
			var fs []Finding
			bySA, byName := map[string]int{}, map[string]int{}
			for i, w := range in.Config.WorkloadIdentities {
				p := fmt.Sprintf("workloadIdentities[%d]", i)
				sa := w.Namespace + "/" + w.ServiceAccount
				if j, dup := bySA[sa]; dup {
					// EKS keeps one association per service account: a second gets ResourceInUseException
					// "Association already exists" (eksctl #7753, aws/eks-hybrid #679).
					fs = append(fs, Finding{Path: p + ".serviceAccount",
						Message: fmt.Sprintf("service account %s already has workloadIdentities[%d]: EKS allows one Pod Identity association per service account", sa, j),
						Fix:     fmt.Sprintf("merge the two entries' policies into workloadIdentities[%d] and remove this one", j)})
					continue
				}
				bySA[sa] = i
				name := w.ResolvedName()
				if j, dup := byName[name]; dup {
					path, how := p+".name", "choose another name"
					if w.Name == "" {
						path, how = p, "set name on this entry"
					}
					fs = append(fs, Finding{Path: path,
						Message: fmt.Sprintf("workloadIdentities[%d] is already named %q: their role names (%s) would collide", j, name, in.Config.WorkloadIdentityRoleName(name)),
						Fix:     how + ": names must differ"})
					continue
				}
				byName[name] = i
			}
			return fs
		}})
	register(Rule{ID: IDWorkloadPolicies, Kind: Invalid, Summary: "workload identity policies: well-formed managed policy ARNs and inline policy, at least one",
		Check: func(in *Input) []Finding {
			var fs []Finding
			for i, w := range in.Config.WorkloadIdentities {
				p := fmt.Sprintf("workloadIdentities[%d]", i)
				if len(w.ManagedPolicyARNs) == 0 && strings.TrimSpace(string(w.InlinePolicy)) == "" {
					fs = append(fs, Finding{Path: p, Message: fmt.Sprintf("workload identity %q grants nothing: no managed policy and no inline policy", w.ResolvedName()),
						Fix: "list managedPolicyArns, give an inlinePolicy, or both"})
				}
				if n := len(w.ManagedPolicyARNs); n > managedPerRoleMax {
					fs = append(fs, Finding{Path: p + ".managedPolicyArns", Message: fmt.Sprintf("%d managed policies; IAM attaches at most %d to a role (10 unless the quota is raised)", n, managedPerRoleMax),
						Fix: "combine them into fewer policies, or move statements into inlinePolicy"})
				}
				seen := map[string]int{}
				for j, a := range w.ManagedPolicyARNs {
					pj := fmt.Sprintf("%s.managedPolicyArns[%d]", p, j)
					if !managedPolicyPattern.MatchString(a) {
						fs = append(fs, Finding{Path: pj, Message: fmt.Sprintf("%q is not an IAM managed policy ARN", a),
							Fix: "use arn:aws:iam::aws:policy/<name> for an AWS managed policy, or arn:aws:iam::<12-digit account>:policy/<name>"})
						continue
					}
					if k, dup := seen[a]; dup {
						fs = append(fs, Finding{Path: pj, Message: fmt.Sprintf("%s is listed twice (also managedPolicyArns[%d])", a, k), Fix: "list it once"})
					}
					seen[a] = j
				}
				if doc := strings.TrimSpace(string(w.InlinePolicy)); doc != "" {
					for _, problem := range policyProblems(doc) {
						fs = append(fs, Finding{Path: p + ".inlinePolicy", Message: "not a usable IAM policy: " + problem,
							Fix: `write {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [...], "Resource": [...]}]}, as a YAML mapping or a JSON string`})
					}
				}
			}
			return fs
		}})
	register(Rule{ID: IDWorkloadAgent, Kind: Invalid, Summary: "workload identities need the EKS Pod Identity agent",
		Check: func(in *Input) []Finding {
			c := in.Config
			// Auto Mode runs the agent itself (EKS user guide, pod-id-agent-setup); node groups need the add-on, or
			// pods find no credentials at 169.254.170.23.
			if len(c.WorkloadIdentities) == 0 || c.Cluster.Compute == config.ComputeAuto || c.Addons.PodIdentityAgent {
				return nil
			}
			return []Finding{{Path: "addons.podIdentityAgent",
				Message: fmt.Sprintf("the EKS Pod Identity agent is off, so the pods of the %d workload identities would get no credentials", len(c.WorkloadIdentities)),
				Fix:     "set addons.podIdentityAgent: true"}}
		}})
}

func k8sName(path, what, value string, valid func(string) []string, example string) []Finding {
	if value == "" {
		return []Finding{{Path: path, Message: "the " + what + " is empty", Fix: "name the Kubernetes " + what + ", " + example}}
	}
	if errs := valid(value); len(errs) > 0 {
		return []Finding{{Path: path, Message: fmt.Sprintf("%q is not a valid Kubernetes %s name: %s", value, what, strings.Join(errs, "; ")),
			Fix: "use lowercase letters, digits and hyphens, " + example}}
	}
	return nil
}

// policyProblems lists what makes doc, the JSON text of an identity-based policy, one IAM would refuse (IAM User
// Guide, reference_policies_grammar and reference_iam-quotas), every problem at once.
func policyProblems(doc string) []string {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	if dec.More() {
		return []string{"not JSON: more than one value"}
	}
	top, ok := v.(map[string]any)
	if !ok {
		return []string{"not a JSON object"}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(top)) {
		if k != "Version" && k != "Id" && k != "Statement" {
			out = append(out, fmt.Sprintf("unknown element %q", k))
		}
	}
	// 2012-10-17 is the version with policy variables; IAM reads ${...} as literal text under 2008-10-17.
	if top["Version"] != "2012-10-17" {
		out = append(out, fmt.Sprintf(`Version is %v, want "2012-10-17"`, jsonText(top["Version"])))
	}
	var stmts []any
	switch s := top["Statement"].(type) {
	case map[string]any:
		stmts = []any{s}
	case []any:
		stmts = s
	}
	if len(stmts) == 0 {
		out = append(out, "no Statement")
	}
	for i, raw := range stmts {
		at := fmt.Sprintf("Statement[%d]", i)
		s, ok := raw.(map[string]any)
		if !ok {
			out = append(out, at+" is not an object")
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(s)) {
			switch k {
			case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition":
			case "Principal", "NotPrincipal":
				// A role's own policies name no principal: IAM answers MalformedPolicyDocument "Has prohibited field Principal".
				out = append(out, fmt.Sprintf("%s has %s, which only resource and trust policies have", at, k))
			default:
				out = append(out, fmt.Sprintf("%s has unknown element %q", at, k))
			}
		}
		if e := s["Effect"]; e != "Allow" && e != "Deny" {
			out = append(out, fmt.Sprintf(`%s: Effect is %s, want "Allow" or "Deny"`, at, jsonText(e)))
		}
		out = append(out, oneOf2(at, s, "Action", "NotAction", func(a string) string {
			if !actionPattern.MatchString(a) {
				return fmt.Sprintf("%q is not service:action", a)
			}
			return ""
		})...)
		out = append(out, oneOf2(at, s, "Resource", "NotResource", func(string) string { return "" })...)
		if c, has := s["Condition"]; has {
			if m, ok := c.(map[string]any); !ok || len(m) == 0 {
				out = append(out, at+": Condition is not an object of operators")
			} else {
				for _, op := range slices.Sorted(maps.Keys(m)) {
					if _, ok := m[op].(map[string]any); !ok {
						out = append(out, fmt.Sprintf("%s: Condition %s is not an object of keys", at, op))
					}
				}
			}
		}
	}
	var compact bytes.Buffer
	if json.Compact(&compact, []byte(doc)) == nil {
		n := 0
		for _, r := range compact.String() {
			if r > 0xff || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') {
				out = append(out, fmt.Sprintf("character %q: IAM takes only tab, line feed, carriage return and U+0020 to U+00FF", r))
				break
			}
		}
		for _, r := range compact.String() {
			if !unicode.IsSpace(r) {
				n++
			}
		}
		if n > inlineRolePolicyMax {
			out = append(out, fmt.Sprintf("%d characters without white space; a role's inline policies hold at most %d", n, inlineRolePolicyMax))
		}
	}
	return out
}

// oneOf2 checks that a statement has exactly one of two elements (Action or NotAction, Resource or NotResource),
// a string or a non-empty list of strings, each passing check.
func oneOf2(at string, s map[string]any, a, b string, check func(string) string) []string {
	va, hasA := s[a]
	vb, hasB := s[b]
	switch {
	case hasA && hasB:
		return []string{fmt.Sprintf("%s has both %s and %s", at, a, b)}
	case !hasA && !hasB:
		return []string{fmt.Sprintf("%s has no %s", at, a)}
	}
	key, v := a, va
	if hasB {
		key, v = b, vb
	}
	var items []any
	switch x := v.(type) {
	case string:
		items = []any{x}
	case []any:
		items = x
	}
	if len(items) == 0 {
		return []string{fmt.Sprintf("%s: %s is %s, want a string or a non-empty list of strings", at, key, jsonText(v))}
	}
	var out []string
	for _, it := range items {
		str, ok := it.(string)
		if !ok {
			out = append(out, fmt.Sprintf("%s: %s holds %s, not a string", at, key, jsonText(it)))
			continue
		}
		if msg := check(str); msg != "" {
			out = append(out, fmt.Sprintf("%s: %s %s", at, key, msg))
		}
	}
	return out
}

func jsonText(v any) string {
	if v == nil {
		return "missing"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
