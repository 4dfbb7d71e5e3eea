package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// startDeployFront puts a small handler before the harness's front (at frontURL) and returns its URL. It does two
// things the deploy tests need that the front does not do (yet):
//
//   - UpdateClusterConfig with resourcesVpcConfig (a gap of moto): EKS changes only the members the request names
//     (the provider sends subnetIds alone when the subnets move); moto 5.2.1 replaces the cluster's whole VPC
//     configuration, so endpointPublicAccess, endpointPrivateAccess and publicAccessCidrs fall back to nothing and
//     the next plan shows drift. The handler completes the request with the cluster's current members.
//   - EKS writing its control-plane log group again while a cluster is deleted (terraform-aws-eks #2486, #2763):
//     after DeleteCluster, the next DeleteLogGroup of /aws/eks/<cluster>/cluster is followed by a CreateLogGroup
//     of the same name, as EKS's last logs would, so `tapstack destroy` has a group to remove afterwards.
//
// Everything else passes through unchanged. When the front merges VPC configurations itself, the first changes
// nothing.
func startDeployFront(t *testing.T, frontURL string) string {
	t.Helper()
	target, err := url.Parse(frontURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	deleted := map[string]bool{} // clusters deleted, whose log group comes back once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if strings.Contains(auth, "/eks/aws4_request") {
			if m := updateConfigPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodPost {
				mergeVPCConfig(r, frontURL, m[1])
			}
			if m := clusterPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodDelete {
				mu.Lock()
				deleted[m[1]] = true
				mu.Unlock()
			}
		}
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DeleteLogGroup") {
			body := peek(r)
			var in struct{ LogGroupName string }
			_ = json.Unmarshal(body, &in)
			cluster, ok := strings.CutPrefix(in.LogGroupName, "/aws/eks/")
			cluster, ok2 := strings.CutSuffix(cluster, "/cluster")
			mu.Lock()
			recreate := ok && ok2 && deleted[cluster]
			delete(deleted, cluster)
			mu.Unlock()
			if recreate {
				rec := httptest.NewRecorder()
				proxy.ServeHTTP(rec, r)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes())
				if rec.Code == http.StatusOK {
					createLogGroup(r, frontURL, in.LogGroupName)
				}
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

var (
	updateConfigPath = regexp.MustCompile(`^/clusters/([^/]+)/update-config$`)
	clusterPath      = regexp.MustCompile(`^/clusters/([^/]+)$`)
)

// peek reads r's body and puts it back.
func peek(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

// createLogGroup creates a log group through the front, with the scope of r's credentials (moto checks no
// signature).
func createLogGroup(r *http.Request, frontURL, name string) {
	body, _ := json.Marshal(map[string]string{"logGroupName": name})
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, frontURL+"/", bytes.NewReader(body))
	if err != nil {
		return
	}
	for _, h := range []string{"Authorization", "X-Amz-Date"} {
		req.Header.Set(h, r.Header.Get(h))
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Logs_20140328.CreateLogGroup")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// vpcConfigRequestMembers are the members of EKS's VpcConfigRequest.
var vpcConfigRequestMembers = []string{"subnetIds", "securityGroupIds", "endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs"}

func mergeVPCConfig(r *http.Request, frontURL, cluster string) {
	body := peek(r)
	var req map[string]any
	if json.Unmarshal(body, &req) != nil {
		return
	}
	upd, ok := req["resourcesVpcConfig"].(map[string]any)
	if !ok {
		return
	}
	// DescribeCluster through the front, with the caller's credentials scope (moto checks no signature).
	get, err := http.NewRequestWithContext(r.Context(), http.MethodGet, frontURL+"/clusters/"+cluster, nil)
	if err != nil {
		return
	}
	for _, h := range []string{"Authorization", "X-Amz-Date"} {
		get.Header.Set(h, r.Header.Get(h))
	}
	resp, err := http.DefaultClient.Do(get)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	var cur struct {
		Cluster struct {
			ResourcesVpcConfig map[string]any `json:"resourcesVpcConfig"`
		} `json:"cluster"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&cur) != nil {
		return
	}
	for _, k := range vpcConfigRequestMembers {
		if _, named := upd[k]; !named {
			if v, ok := cur.Cluster.ResourcesVpcConfig[k]; ok && v != nil {
				upd[k] = v
			}
		}
	}
	merged, err := json.Marshal(req)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(merged))
	r.ContentLength = int64(len(merged))
	r.Header.Set("Content-Length", strconv.Itoa(len(merged)))
}
