package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/kubernetes"
	k8sfake "k8s.io/client-go/kubernetes/fake"

	"github.com/tapstack/tapstack/pkg/config"
)

// The commands reach AWS through the SDK's default chain (live checks, verify, destroy's cleanup). No test of
// this package may reach the network, the instance metadata service or a developer's profile, so TestMain gives
// the whole package fake static credentials, no shared config or credentials file, IMDS off, and one endpoint
// for every service: awsEndpoint, a local server that refuses every call as AccessDenied.
const (
	testAccessKey = "AKIDTAPSTACKUNITTEST"
	testSecretKey = "tapstack-unit-test-secret"
)

var awsEndpoint *fakeAWS

// fakeAWS answers every AWS call with AccessDenied, in the protocol's shape (JSON or XML), unless a test gave
// an answer for it (answer), and records what it was asked.
type fakeAWS struct {
	*httptest.Server
	mu       sync.Mutex
	requests []fakeAWSRequest
	answers  map[string]fakeAnswer
}

// fakeAnswer is a response: status, content type and body.
type fakeAnswer struct {
	status      int
	contentType string
	body        string
}

// answer makes the fake answer the call key ("METHOD /path" for REST protocols, the X-Amz-Target or query
// Action otherwise) with a, until the test ends.
func (f *fakeAWS) answer(t *testing.T, key string, a fakeAnswer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.answers == nil {
		f.answers = map[string]fakeAnswer{}
	}
	f.answers[key] = a
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.answers, key)
	})
}

type fakeAWSRequest struct {
	Target, Path, Authorization string // Target: X-Amz-Target (JSON protocols), else the query's Action or ""
}

func newFakeAWS() *fakeAWS {
	f := &fakeAWS{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		target := r.Header.Get("X-Amz-Target")
		if target == "" {
			target = r.Form.Get("Action")
		}
		f.mu.Lock()
		f.requests = append(f.requests, fakeAWSRequest{Target: target, Path: r.URL.Path, Authorization: r.Header.Get("Authorization")})
		a, ok := f.answers[target]
		if !ok {
			a, ok = f.answers[r.Method+" "+r.URL.Path]
		}
		f.mu.Unlock()
		if ok {
			w.Header().Set("Content-Type", a.contentType)
			w.WriteHeader(a.status)
			fmt.Fprint(w, a.body)
			return
		}
		const msg = "unit tests reach no AWS"
		if strings.Contains(r.Header.Get("Content-Type"), "json") || strings.HasPrefix(r.URL.Path, "/clusters") ||
			strings.HasPrefix(r.URL.Path, "/addons") || strings.HasPrefix(r.URL.Path, "/cluster-versions") {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"__type":"AccessDeniedException","message":%q}`, msg)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		if r.Form.Get("Version") == "2016-11-15" { // EC2's query protocol has its own error shape
			fmt.Fprintf(w, `<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>%s</Message></Error></Errors><RequestID>1</RequestID></Response>`, msg)
			return
		}
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>%s</Message></Error></ErrorResponse>`, msg)
	}))
	return f
}

// since returns the requests after the first n.
func (f *fakeAWS) since(n int) []fakeAWSRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeAWSRequest(nil), f.requests[n:]...)
}

func (f *fakeAWS) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// hermeticAWSEnv is the environment of every test: fake static credentials, no profile, no shared files (paths
// that do not exist), IMDS off, and endpoint for every service.
func hermeticAWSEnv(endpoint, dir string) map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":                      testAccessKey,
		"AWS_SECRET_ACCESS_KEY":                  testSecretKey,
		"AWS_SESSION_TOKEN":                      "",
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "no-such-dir", "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "no-such-dir", "credentials"),
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_ROLE_ARN":                           "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS":    "",
		"AWS_ENDPOINT_URL":                       endpoint,
		"AWS_MAX_ATTEMPTS":                       "1",
	}
}

// runAsCLI, set in the environment, makes the test binary run as tapstack: a test puts it on PATH under that name
// for a program that runs tapstack itself (client-go running tapstack token as the kubeconfig's plugin). The child
// inherits the test's hermetic environment.
const runAsCLI = "TAPSTACK_TEST_RUN_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(runAsCLI) == "1" {
		os.Exit(run(os.Args[1:], stdio{out: os.Stdout, err: os.Stderr, in: os.Stdin}))
	}
	awsEndpoint = newFakeAWS()
	// Nor a cluster: deploy, upgrade and verify reach client-go's fake clientset, an empty cluster per connection.
	kubeClient = func(context.Context, *config.Config) (kubernetes.Interface, error) {
		return k8sfake.NewClientset(), nil
	}
	dir, err := os.MkdirTemp("", "tapstack-cmd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_ENDPOINT_URL_") {
			os.Unsetenv(k) // a service's own endpoint would win over AWS_ENDPOINT_URL
		}
	}
	for k, v := range hermeticAWSEnv(awsEndpoint.URL, dir) {
		os.Setenv(k, v)
	}
	// tapstack kubeconfig without --out writes KUBECONFIG's file, never a developer's ~/.kube/config.
	os.Setenv("KUBECONFIG", filepath.Join(dir, "kubeconfig"))
	code := m.Run()
	awsEndpoint.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// The package's environment keeps every AWS call on the local endpoint, signed with the fake credentials.
func TestHermeticAWSEnvironment(t *testing.T) {
	for k, want := range map[string]string{"AWS_ACCESS_KEY_ID": testAccessKey, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL": awsEndpoint.URL} {
		if got := os.Getenv(k); got != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		if _, err := os.Stat(os.Getenv(k)); !os.IsNotExist(err) {
			t.Errorf("%s=%s exists (%v): a developer's profile could be read", k, os.Getenv(k), err)
		}
	}
}
