package live

import (
	"context"
	"errors"
	"strings"

	"github.com/tapstack/tapstack/internal/awserr"
)

// apiError records which API call failed and the IAM action that call needs.
type apiError struct {
	API    string // service:Operation, as the API names it ("s3:HeadBucket")
	Action string // the IAM action ("s3:ListBucket")
	Err    error
}

func (e *apiError) Error() string { return e.API + ": " + e.Err.Error() }
func (e *apiError) Unwrap() error { return e.Err }

// wrap tags err with the API it came from. action is the IAM action when it differs from the API's name.
func wrap(api string, err error, action ...string) error {
	if err == nil {
		return nil
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	a := api
	if len(action) > 0 && action[0] != "" {
		a = action[0]
	}
	return &apiError{API: api, Action: a, Err: err}
}

// errClass is what an error means for a check.
type errClass int

const (
	classOther          errClass = iota // a failure: network, credentials, a server error
	classDenied                         // a missing permission
	classNotImplemented                 // the endpoint does not implement the API (an emulator)
	classTimeout                        // the check's time ran out
)

// deniedCodes are the error codes AWS services use for a missing permission.
var deniedCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "UnauthorizedOperation": true,
	"UnauthorizedAccess": true, "AuthorizationError": true, "Forbidden": true,
	"AccessDeniedForDependencyException": true, "NoAccess": true,
}

// notImplementedCodes are the codes an endpoint answers for an operation it does not know. Real AWS services
// answer UnknownOperationException or InvalidAction only for operations that do not exist.
var notImplementedCodes = map[string]bool{
	"InvalidAction": true, "UnknownOperationException": true, "NotImplemented": true,
	"NotImplementedException": true, "NotImplementedError": true,
}

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// hasCode reports whether err is an AWS error with one of codes.
func hasCode(err error, codes ...string) bool {
	c := awserr.Code(err)
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// classify says what an error means. An endpoint "does not implement" an API when it answers with a code or a
// message that says so, or with HTTP 404, 405, 500 or 501 and a body that is not an AWS error at all (moto answers
// an unknown REST path with an HTML 404 and an unknown JSON operation with an HTML 500). Real AWS services always
// send an error code, so their 404s (ResourceNotFoundException) and 500s (InternalFailure) are never taken for
// this.
func classify(ctx context.Context, err error) errClass {
	if errors.Is(err, context.DeadlineExceeded) || (ctx != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)) {
		return classTimeout
	}
	code, msg := awserr.CodeMessage(err)
	status := httpStatus(err)
	switch {
	case deniedCodes[code], status == 403 && code == "":
		return classDenied
	case notImplementedCodes[code]:
		return classNotImplemented
	}
	low := strings.ToLower(msg + " " + err.Error())
	if strings.Contains(low, "not yet implemented") || strings.Contains(low, "has not been implemented") {
		return classNotImplemented
	}
	if code == "" || code == "UnknownError" {
		switch status {
		case 404, 405, 500, 501:
			return classNotImplemented
		}
	}
	return classOther
}

// apiOf returns the API and IAM action an error came from, when it was wrapped.
func apiOf(err error) (api, action string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.API, ae.Action
	}
	return "", ""
}
