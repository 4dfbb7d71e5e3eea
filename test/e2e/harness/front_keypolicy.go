package harness

import (
	"encoding/json"
	"strings"
)

// A KMS key policy, read as far as the front needs to tell whether it lets CloudWatch Logs use the key for one log
// group (eks-behaviour.md L1). The evaluation follows the IAM policy evaluation logic (IAM user guide,
// reference_policies_evaluation-logic): an explicit Deny that applies wins, otherwise an Allow that applies grants,
// otherwise the request is denied. A statement applies when its principal, action, resource and every condition
// match. The request the front models is CloudWatch Logs' own: the service principal logs.<region>.amazonaws.com,
// on this key, with the encryption context kms:EncryptionContext:aws:logs:arn = the log group's ARN (CloudWatch Logs
// user guide, encrypt-log-data-kms). Its context holds no other condition key, so a condition on any other key is
// false (true with ...IfExists), as IAM evaluates a key missing from the request. What the front cannot evaluate
// (NotPrincipal, NotAction, NotResource, condition operators other than the String and Arn ones) makes the
// statement not apply: an Allow then grants nothing, a Deny denies nothing.

// logsKeyActions are the actions CloudWatch Logs' key policy statement grants in the user guide
// (encrypt-log-data-kms): kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, kms:GenerateDataKey*, kms:Describe*. The guide
// does not say which of them AssociateKmsKey exercises, so the front asks the policy for one action of each.
var logsKeyActions = []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:DescribeKey"}

type keyPolicy struct {
	Statement oneOrMany[policyStatement] `json:"Statement"`
}

type policyStatement struct {
	Effect       string                    `json:"Effect"`
	Principal    json.RawMessage           `json:"Principal"`
	NotPrincipal json.RawMessage           `json:"NotPrincipal"`
	Action       oneOrMany[string]         `json:"Action"`
	NotAction    json.RawMessage           `json:"NotAction"`
	Resource     oneOrMany[string]         `json:"Resource"`
	NotResource  json.RawMessage           `json:"NotResource"`
	Condition    map[string]map[string]any `json:"Condition"`
}

// oneOrMany is a policy element that may be one value or a list of them.
type oneOrMany[T any] []T

func (o *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	var many []T
	if err := json.Unmarshal(b, &many); err == nil {
		*o = many
		return nil
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*o = []T{one}
	return nil
}

// logsRequest is one use of a key by CloudWatch Logs for a log group.
type logsRequest struct {
	service  string // logs.<region>.amazonaws.com
	keyARN   string
	groupARN string // arn:<partition>:logs:<region>:<account>:log-group:<name>
}

// allowsLogs reports whether the key policy document lets CloudWatch Logs use the key for the log group, for every
// action of logsKeyActions.
func allowsLogs(doc string, req logsRequest) bool {
	var p keyPolicy
	if json.Unmarshal([]byte(doc), &p) != nil {
		return false
	}
	for _, action := range logsKeyActions {
		allowed := false
		for _, s := range p.Statement {
			if !s.applies(req, action) {
				continue
			}
			switch s.Effect {
			case "Deny":
				return false
			case "Allow":
				allowed = true
			}
		}
		if !allowed {
			return false
		}
	}
	return true
}

func (s policyStatement) applies(req logsRequest, action string) bool {
	if len(s.NotPrincipal) > 0 || len(s.NotAction) > 0 || len(s.NotResource) > 0 {
		return false
	}
	if !principalIsService(s.Principal, req.service) {
		return false
	}
	if !anyMatch(s.Action, func(p string) bool { return globMatch(strings.ToLower(p), strings.ToLower(action)) }) {
		return false
	}
	// In a key policy, "Resource": "*" means the key itself (KMS developer guide, key-policy-overview).
	if !anyMatch(s.Resource, func(p string) bool { return p == "*" || arnMatch(p, req.keyARN) }) {
		return false
	}
	context := map[string]string{"kms:encryptioncontext:aws:logs:arn": req.groupARN}
	for op, keys := range s.Condition {
		for key, values := range keys {
			if !conditionHolds(op, context, strings.ToLower(key), values) {
				return false
			}
		}
	}
	return true
}

// principalIsService reports whether a Principal element names the service principal. "*", and {"AWS": "*"}
// which the IAM user guide (reference_policies_elements_principal) calls equivalent to it, name every principal.
func principalIsService(raw json.RawMessage, service string) bool {
	var all string
	if json.Unmarshal(raw, &all) == nil {
		return all == "*"
	}
	var byType map[string]oneOrMany[string]
	if json.Unmarshal(raw, &byType) != nil {
		return false
	}
	return anyMatch(byType["Service"], func(p string) bool { return p == service }) ||
		anyMatch(byType["AWS"], func(p string) bool { return p == "*" })
}

// conditionHolds evaluates one condition key of one operator: true when any of its values matches the request's
// value of the key (IAM user guide, reference_policies_condition-logic-multiple-context-keys-or-values).
func conditionHolds(op string, context map[string]string, key string, values any) bool {
	base, ifExists := strings.CutSuffix(op, "IfExists")
	got, present := context[key]
	if !present {
		return ifExists
	}
	var list oneOrMany[string]
	raw, _ := json.Marshal(values)
	if json.Unmarshal(raw, &list) != nil {
		return false
	}
	var match func(pattern string) bool
	switch base {
	case "StringEquals", "ArnEquals":
		if base == "ArnEquals" {
			match = func(p string) bool { return arnMatch(p, got) } // ArnEquals takes wildcards as ArnLike does
		} else {
			match = func(p string) bool { return p == got }
		}
	case "StringLike":
		match = func(p string) bool { return globMatch(p, got) }
	case "ArnLike":
		match = func(p string) bool { return arnMatch(p, got) }
	case "StringEqualsIgnoreCase":
		match = func(p string) bool { return strings.EqualFold(p, got) }
	default:
		return false
	}
	return anyMatch(list, match)
}

// arnMatch matches an ARN against a pattern the way ArnLike and ArnEquals do: "Each of the six colon-delimited
// components of the ARN is checked separately and each can include multi-character match wildcards (*) or
// single-character match wildcards (?)" (IAM user guide, reference_policies_elements_condition_operators).
func arnMatch(pattern, arn string) bool {
	pp, ap := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !globMatch(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// globMatch matches s against a pattern where * is any run of characters and ? any one character.
func globMatch(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if globMatch(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		}
	}
	return s == ""
}

func anyMatch(list []string, match func(string) bool) bool {
	for _, v := range list {
		if match(v) {
			return true
		}
	}
	return false
}
