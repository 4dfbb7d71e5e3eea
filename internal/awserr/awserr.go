// Package awserr reads the error code and message an AWS service answered with, through however many layers of
// wrapping (the SDK's operation error, tapstack's own).
package awserr

import (
	"errors"

	"github.com/aws/smithy-go"
)

// Code is the AWS error code of err ("AccessDenied", "InvalidGroup.NotFound"), or "" when err carries none.
func Code(err error) string {
	code, _ := CodeMessage(err)
	return code
}

// CodeMessage is the AWS error code and message of err, or two empty strings when err carries none.
func CodeMessage(err error) (code, msg string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", ""
}
