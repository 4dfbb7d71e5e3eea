package incluster

import (
	"context"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Unreachable says whether err means that the API server was never reached: a host name that does not resolve,
// a connection refused or unanswered, a request that timed out. It is what a runner outside the VPC sees of a
// private-only endpoint (its name resolves to addresses inside the VPC), or of a public one whose CIDRs leave the
// runner out. An answer of the API server (401, 403, 5xx) or a TLS failure is not.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var op *net.OpError
	var dns *net.DNSError
	var ue *url.Error
	return errors.As(err, &op) || errors.As(err, &dns) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ue) && ue.Timeout())
}

// ReachHint says why an endpoint with these settings may be unreachable from the runner and where to run from.
func ReachHint(publicAccess bool, publicCIDRs []string) string {
	switch {
	case !publicAccess:
		return "the cluster's endpoint is private only (cluster.endpointPublicAccess is false), so only a runner " +
			"inside its VPC, or in a network connected to it, reaches it"
	case len(publicCIDRs) > 0 && !slices.Contains(publicCIDRs, "0.0.0.0/0"):
		return "the cluster's public endpoint admits only " + strings.Join(publicCIDRs, ", ") +
			" (cluster.publicAccessCIDRs): the runner's public address must be among them, or the runner inside the VPC"
	default:
		return "the cluster's endpoint is public, so the runner's own network (a proxy, a firewall, DNS) stops it"
	}
}
