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
	"strings"
	"sync"
	"testing"
)

// startDeployFront puts a small handler before the harness's front (at frontURL) and returns its URL. It stands
// in for one thing the destroy test needs that no emulator does:
//
//   - EKS writing its control-plane log group again while a cluster is deleted (terraform-aws-eks #2486, #2763):
//     after DeleteCluster, the next DeleteLogGroup of /aws/eks/<cluster>/cluster is followed by a CreateLogGroup
//     of the same name, as EKS's last logs would, so `tapstack destroy` has a group to remove afterwards.
//
// Everything else passes through unchanged.
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
	clusterPath = regexp.MustCompile(`^/clusters/([^/]+)$`)
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
