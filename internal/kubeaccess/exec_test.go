package kubeaccess

import (
	"encoding/json"
	"testing"
	"time"
)

// What client-go's exec plugin reader needs: apiVersion and kind it asked for, status.token, and
// status.expirationTimestamp in RFC 3339.
func TestExecCredential(t *testing.T) {
	exp := time.Date(2026, 3, 14, 9, 40, 53, 0, time.FixedZone("CET", 3600))
	b, err := ExecCredential(Token{Value: "k8s-aws-v1.abc", Expiration: exp})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Status     struct {
			Token               string `json:"token"`
			ExpirationTimestamp string `json:"expirationTimestamp"`
		} `json:"status"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if got.APIVersion != "client.authentication.k8s.io/v1beta1" || got.Kind != "ExecCredential" || got.Status.Token != "k8s-aws-v1.abc" {
		t.Errorf("ExecCredential %s", b)
	}
	ts, err := time.Parse(time.RFC3339, got.Status.ExpirationTimestamp)
	if err != nil || !ts.Equal(exp) {
		t.Errorf("expirationTimestamp %q (%v), want %s", got.Status.ExpirationTimestamp, err, exp.UTC().Format(time.RFC3339))
	}
}
