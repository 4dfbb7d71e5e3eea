package awserr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestCodeMessage(t *testing.T) {
	api := &smithy.GenericAPIError{Code: "DependencyViolation", Message: "resource sg-1 has a dependent object"}
	wrapped := fmt.Errorf("delete security group sg-1: %w", &smithy.OperationError{ServiceID: "EC2",
		OperationName: "DeleteSecurityGroup", Err: api})
	if code, msg := CodeMessage(wrapped); code != "DependencyViolation" || msg != "resource sg-1 has a dependent object" {
		t.Errorf("CodeMessage = %q, %q", code, msg)
	}
	if c := Code(wrapped); c != "DependencyViolation" {
		t.Errorf("Code = %q", c)
	}
	for _, err := range []error{nil, errors.New("dial tcp: connection refused")} {
		if code, msg := CodeMessage(err); code != "" || msg != "" {
			t.Errorf("CodeMessage(%v) = %q, %q", err, code, msg)
		}
		if c := Code(err); c != "" {
			t.Errorf("Code(%v) = %q", err, c)
		}
	}
}
