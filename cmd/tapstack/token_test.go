package main

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

// token prints an ExecCredential whose token is a presigned URL of the endpoint the environment names (here the
// package's fake, through AWS_ENDPOINT_URL), signed with the environment's credentials for the region; it calls
// nothing.
func TestTokenCommand(t *testing.T) {
	before := awsEndpoint.count()
	start := time.Now().Truncate(time.Second)
	code, out, errs := runCLI(t, "token", "--cluster", "eks-cluster-v1-dev", "--region", "eu-west-1")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	var ec struct {
		APIVersion, Kind string
		Status           struct {
			Token               string
			ExpirationTimestamp time.Time
		}
	}
	if err := json.Unmarshal([]byte(out), &ec); err != nil {
		t.Fatalf("stdout %q: %v", out, err)
	}
	if ec.APIVersion != "client.authentication.k8s.io/v1beta1" || ec.Kind != "ExecCredential" {
		t.Errorf("stdout %s", out)
	}
	if exp := ec.Status.ExpirationTimestamp; exp.Before(start.Add(14*time.Minute)) || exp.After(time.Now().Add(14*time.Minute)) {
		t.Errorf("expirationTimestamp %s, want 14 minutes after %s", exp, start)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(ec.Status.Token, "k8s-aws-v1."))
	if err != nil || !strings.HasPrefix(ec.Status.Token, "k8s-aws-v1.") {
		t.Fatalf("token %q: %v", ec.Status.Token, err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if "http://"+u.Host != awsEndpoint.URL || q.Get("Action") != "GetCallerIdentity" ||
		!strings.HasPrefix(q.Get("X-Amz-Credential"), testAccessKey+"/") || !strings.Contains(q.Get("X-Amz-Credential"), "/eu-west-1/sts/") ||
		q.Get("X-Amz-SignedHeaders") != "host;x-k8s-aws-id" {
		t.Errorf("token URL %s", u)
	}
	if n := awsEndpoint.count(); n != before {
		t.Errorf("token made %d AWS calls", n-before)
	}
}

func TestTokenCommandNeedsCluster(t *testing.T) {
	code, out, errs := runCLI(t, "token", "--region", "us-east-1")
	if code != 2 || out != "" || !strings.Contains(errs, `required flag(s) "cluster" not set`) {
		t.Errorf("exit %d, stdout %q, stderr %s", code, out, errs)
	}
}
