package kubeapi

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The versions scripts/build-kube.sh builds (those its wrapper modules in scripts/kube/ require; a test checks
// that they agree).
const (
	KubernetesVersion        = "v1.36.3"
	EtcdVersion              = "v3.6.16"
	ControllerManagerVersion = "v1.36.3"
)

// TestPrefix starts the name of every test that starts an API server: .ci/run runs the other tests while the
// binaries build (go test -skip '^TestKube'), then these (-run '^TestKube').
const TestPrefix = "TestKube"

// BuildCommand builds the binaries into the cache where Start finds them.
const BuildCommand = "bash scripts/build-kube.sh"

// startTimeout bounds how long Start waits for etcd and the API server; generous, since CI runs many emulators
// and Terraform on two cores.
const startTimeout = 3 * time.Minute

// Paths are the binaries Start runs.
type Paths struct {
	APIServer, Etcd, ControllerManager string
}

// Binaries returns the paths of kube-apiserver, etcd and kube-controller-manager: TAPSTACK_KUBE_APISERVER,
// TAPSTACK_ETCD and TAPSTACK_KUBE_CONTROLLER_MANAGER when set, else the tool cache scripts/build-kube.sh fills
// (TAPSTACK_TOOL_CACHE, else $XDG_CACHE_HOME or ~/.cache, then tapstack/tools/NAME-VERSION/NAME). It fails when
// one is missing: the script builds all three.
func Binaries() (Paths, error) {
	cache := os.Getenv("TAPSTACK_TOOL_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return Paths{}, err
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "tapstack", "tools")
	}
	find := func(env, name, version string) (string, error) {
		p := os.Getenv(env)
		if p == "" {
			p = filepath.Join(cache, name+"-"+version, name)
		}
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s %s is not built (no executable %s): run `%s` from the repository root "+
				"(20 minutes or more the first time, then cached) or set %s", name, version, p, BuildCommand, env)
		}
		return p, nil
	}
	var p Paths
	var err error
	if p.APIServer, err = find("TAPSTACK_KUBE_APISERVER", "kube-apiserver", KubernetesVersion); err != nil {
		return Paths{}, err
	}
	if p.Etcd, err = find("TAPSTACK_ETCD", "etcd", EtcdVersion); err != nil {
		return Paths{}, err
	}
	if p.ControllerManager, err = find("TAPSTACK_KUBE_CONTROLLER_MANAGER", "kube-controller-manager", ControllerManagerVersion); err != nil {
		return Paths{}, err
	}
	return p, nil
}

// Options configures Start.
type Options struct {
	// Authenticator, when set, answers the API server's token reviews through a webhook
	// (--authentication-token-webhook-config-file), as aws-iam-authenticator does in EKS. Without it bearer tokens
	// are refused.
	Authenticator http.Handler
	// ControllerManager also runs kube-controller-manager with Controllers, so that Deployments make pods,
	// PodDisruptionBudgets get a status and protection finalizers come off. Start returns once its service account
	// controller has made the default namespace's ServiceAccount: its informers are synced.
	ControllerManager bool
}

// Controllers are the controllers kube-controller-manager runs with Options.ControllerManager: those the tests
// need, and none that need a cloud, a kubelet or a signing key (node lifecycle, attach/detach, the token
// controller, CSR signing).
var Controllers = []string{
	"deployment-controller",
	"replicaset-controller",
	"disruption-controller",                       // PodDisruptionBudget status
	"persistentvolume-binder-controller",          // PVC and PV phases (Bound, Released)
	"persistentvolumeclaim-protection-controller", // kubernetes.io/pvc-protection
	"persistentvolume-protection-controller",      // kubernetes.io/pv-protection
	"garbage-collector-controller",                // owner references: a deleted Deployment's ReplicaSets and pods
	"namespace-controller",
	"serviceaccount-controller", // the default ServiceAccount pods need, and Start's sign of readiness
}

// Server is a running API server.
type Server struct {
	URL    string       // https://127.0.0.1:PORT, what EKS DescribeCluster reports as the endpoint
	CAData []byte       // PEM of the CA of the serving certificate (DescribeCluster's certificateAuthority.data, decoded)
	Admin  *rest.Config // a client certificate in system:masters, for the tests' own setup and checks

	dir string
	kcm issued // kube-controller-manager's client certificate, with Options.ControllerManager
}

// Start starts etcd and kube-apiserver on free loopback ports, in t.TempDir(), and waits until the API server is
// ready; both stop (their process groups) when the test ends. Missing binaries fail the test with the command that
// builds them: it never skips.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if !strings.HasPrefix(t.Name(), TestPrefix) {
		t.Fatalf("%s starts a Kubernetes API server: its name must start with %s, so that .ci/run runs it once the "+
			"binaries are built", t.Name(), TestPrefix)
	}
	bins, err := Binaries()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, err := newAuthority()
	if err != nil {
		t.Fatalf("kubeapi: CA: %v", err)
	}
	s := &Server{CAData: ca.pem, dir: dir}
	flags, err := s.prepare(t, ca, opts)
	if err != nil {
		t.Fatalf("kubeapi: %v", err)
	}
	// A port taken between choosing it and the process binding it is retried, as StartMoto does.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if lastErr = s.start(t, bins.APIServer, bins.Etcd, flags, attempt); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("kubeapi: %v", lastErr)
	}
	if opts.ControllerManager {
		if err := s.startControllerManager(t, bins.ControllerManager); err != nil {
			t.Fatalf("kubeapi: %v", err)
		}
	}
	return s
}

// prepare writes the certificates, keys and webhook configuration, starts the webhook, and returns the API
// server's flags that do not depend on ports.
func (s *Server) prepare(t testing.TB, ca *authority, opts Options) ([]string, error) {
	path := func(name string) string { return filepath.Join(s.dir, name) }
	if err := os.WriteFile(path("ca.crt"), ca.pem, 0o600); err != nil {
		return nil, err
	}
	serving, err := ca.issue(pkix.Name{CommonName: "kube-apiserver"}, true)
	if err != nil {
		return nil, err
	}
	if err := serving.writeFiles(path("apiserver.crt"), path("apiserver.key")); err != nil {
		return nil, err
	}
	admin, err := ca.issue(pkix.Name{CommonName: "tapstack-test-admin", Organization: []string{AdminGroup}}, false)
	if err != nil {
		return nil, err
	}
	s.Admin = &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: ca.pem, CertData: admin.certPEM, KeyData: admin.keyPEM}}
	if err := writeServiceAccountKeys(path("sa.key"), path("sa.pub")); err != nil {
		return nil, err
	}
	if opts.ControllerManager {
		// With --use-service-account-credentials=false every controller acts as this one user, whose bootstrap
		// role only reads; system:masters gives it what each controller's own role would.
		if s.kcm, err = ca.issue(pkix.Name{CommonName: "system:kube-controller-manager", Organization: []string{AdminGroup}}, false); err != nil {
			return nil, err
		}
	}
	flags := []string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--tls-cert-file=" + path("apiserver.crt"),
		"--tls-private-key-file=" + path("apiserver.key"),
		"--cert-dir=" + path("certs"),
		"--client-ca-file=" + path("ca.crt"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + path("sa.pub"),
		"--service-account-signing-key-file=" + path("sa.key"),
		"--service-cluster-ip-range=10.100.0.0/16", // EKS's default service range
		"--profiling=false",
	}
	if opts.Authenticator != nil {
		hook, err := ca.issue(pkix.Name{CommonName: "token-webhook"}, true)
		if err != nil {
			return nil, err
		}
		cert, err := hook.tlsCertificate()
		if err != nil {
			return nil, err
		}
		srv := httptest.NewUnstartedServer(opts.Authenticator)
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		// A kubeconfig naming the webhook: the format --authentication-token-webhook-config-file reads.
		kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: token-webhook
  cluster:
    server: %s/authenticate
    certificate-authority-data: %s
users:
- name: kube-apiserver
  user: {}
contexts:
- name: token-webhook
  context:
    cluster: token-webhook
    user: kube-apiserver
current-context: token-webhook
`, srv.URL, base64.StdEncoding.EncodeToString(ca.pem))
		if err := os.WriteFile(path("token-webhook.kubeconfig"), []byte(kubeconfig), 0o600); err != nil {
			return nil, err
		}
		flags = append(flags,
			"--authentication-token-webhook-config-file="+path("token-webhook.kubeconfig"),
			"--authentication-token-webhook-version=v1",
			// No cached reviews: each request's token is checked, as the tests expect of a refused one.
			"--authentication-token-webhook-cache-ttl=0s",
		)
	}
	return flags, nil
}

// start runs etcd and the API server on fresh ports and waits until the API server is ready.
func (s *Server) start(t testing.TB, apiserver, etcd string, flags []string, attempt int) error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	client, peer, secure := ports[0], ports[1], ports[2]
	try := filepath.Join(s.dir, "run-"+strconv.Itoa(attempt))
	if err := os.MkdirAll(try, 0o700); err != nil {
		return err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(client)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peer)
	etcdProc, err := startProcess(t, filepath.Join(try, "etcd.log"), etcd,
		"--name=default",
		"--data-dir="+filepath.Join(try, "etcd"),
		"--listen-client-urls="+clientURL,
		"--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync", // throwaway data: no disk flushes on a machine the tests share
	)
	if err != nil {
		return err
	}
	apiProc, err := startProcess(t, filepath.Join(try, "kube-apiserver.log"), apiserver, append(slices.Clone(flags),
		"--etcd-servers="+clientURL,
		"--secure-port="+strconv.Itoa(secure),
	)...)
	if err != nil {
		etcdProc.stop()
		return err
	}
	s.URL = "https://127.0.0.1:" + strconv.Itoa(secure)
	s.Admin.Host = s.URL
	if err := s.waitReady(etcdProc, apiProc); err != nil {
		apiProc.stop()
		etcdProc.stop()
		return err
	}
	return nil
}

// waitReady polls /readyz with the admin's certificate until it answers 200.
func (s *Server) waitReady(etcd, api *process) error {
	tc, err := rest.TLSConfigFor(s.Admin)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(startTimeout) // clock: a polling deadline
	var last string
	for {
		for _, p := range []*process{etcd, api} {
			if p.exited() {
				return fmt.Errorf("%s exited before the API server was ready; its log ends:\n%s", p.name, p.logTail())
			}
		}
		resp, err := client.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) { // clock: a polling deadline
			return fmt.Errorf("the API server was not ready within %s (last: %s); its log ends:\n%s",
				startTimeout, last, api.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startControllerManager runs kube-controller-manager against the API server and waits until its service account
// controller has made default/default. No serving port (--secure-port=0): nothing here asks it anything.
func (s *Server) startControllerManager(t testing.TB, bin string) error {
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: kube-controller-manager
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: test
  context:
    cluster: test
    user: kube-controller-manager
current-context: test
`, s.URL, base64.StdEncoding.EncodeToString(s.CAData), base64.StdEncoding.EncodeToString(s.kcm.certPEM),
		base64.StdEncoding.EncodeToString(s.kcm.keyPEM))
	path := filepath.Join(s.dir, "kube-controller-manager.kubeconfig")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		return err
	}
	proc, err := startProcess(t, filepath.Join(s.dir, "kube-controller-manager.log"), bin,
		"--kubeconfig="+path,
		"--controllers="+strings.Join(Controllers, ","),
		"--use-service-account-credentials=false",
		"--leader-elect=false",
		"--secure-port=0",
		"--profiling=false",
	)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(s.Admin)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		if proc.exited() {
			return fmt.Errorf("kube-controller-manager exited; its log ends:\n%s", proc.logTail())
		}
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-controller-manager made no default ServiceAccount within %s (last: %v); its log ends:\n%s",
				startTimeout, err, proc.logTail())
		case <-time.After(200 * time.Millisecond): // clock: a polling interval
		}
	}
}

// Config returns a client configuration that authenticates with a bearer token only (no client certificate).
func (s *Server) Config(token string) *rest.Config {
	return &rest.Config{Host: s.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: s.CAData}}
}

// Logs returns the end of the API server's and etcd's logs of the last start, for failure messages.
func (s *Server) Logs() string {
	runs, _ := filepath.Glob(filepath.Join(s.dir, "run-*"))
	if len(runs) == 0 {
		return "(no logs)"
	}
	last := runs[len(runs)-1]
	var b strings.Builder
	for _, name := range []string{"kube-apiserver", "etcd"} {
		fmt.Fprintf(&b, "--- %s:\n%s\n", name, tail(filepath.Join(last, name+".log")))
	}
	if kcm := filepath.Join(s.dir, "kube-controller-manager.log"); fileExists(kcm) {
		fmt.Fprintf(&b, "--- kube-controller-manager:\n%s\n", tail(kcm))
	}
	return b.String()
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// process is a child running in its own process group.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	once sync.Once
}

func startProcess(t testing.TB, logPath, bin string, args ...string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &process{name: filepath.Base(bin), cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(p.done) }()
	// Registered after t.TempDir, so it runs first: the process is gone before its directory is removed.
	t.Cleanup(p.stop)
	return p, nil
}

// stop kills the process group and waits for the process.
func (p *process) stop() {
	p.once.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) logTail() string { return tail(p.log) }

// tail returns the last 40 lines of a log file.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
