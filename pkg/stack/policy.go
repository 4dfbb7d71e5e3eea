package stack

import (
	"github.com/tapstack/tapstack/pkg/tfdoc"
)

// policyDocument declares a data.aws_iam_policy_document, which Terraform renders locally (no API call), so
// references and functions inside statements stay ordinary expressions.
func policyDocument(d *tfdoc.Document, name string, statements ...tfdoc.Body) *tfdoc.Resource {
	return d.Data("aws_iam_policy_document", name, tfdoc.Body{"statement": statements})
}

func statement(sid string, actions, resources []string, principalType string, principals []string, conditions ...tfdoc.Body) tfdoc.Body {
	s := tfdoc.Body{"sid": sid, "effect": "Allow", "actions": actions}
	if resources != nil {
		s["resources"] = resources
	}
	if principalType != "" {
		s["principals"] = []tfdoc.Body{{"type": principalType, "identifiers": principals}}
	}
	if len(conditions) > 0 {
		s["condition"] = conditions
	}
	return s
}

func condition(test, variable string, values ...string) tfdoc.Body {
	return tfdoc.Body{"test": test, "variable": variable, "values": values}
}

// arnPart extracts a field of an ARN known only after apply: 1 is the partition, 4 the account. Deriving them
// from a resource of the stack avoids data.aws_caller_identity, which would call STS at plan time.
func arnPart(r *tfdoc.Resource, i string) string {
	return `${split(":", ` + r.Address() + `.arn)[` + i + `]}`
}
