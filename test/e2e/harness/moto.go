package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Region is the region the harness points Terraform and the SDK at.
const Region = "us-east-1"

// motoStartTimeout bounds how long StartMoto waits for moto_server to answer.
const motoStartTimeout = 60 * time.Second

// Moto is a moto_server process serving every AWS service on one loopback port.
type Moto struct {
	URL string // http://127.0.0.1:PORT

	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// StartMoto starts moto_server on a free loopback port, with AWS managed IAM policies loaded, and waits until it
// answers. The process group is killed when the test ends. A missing moto_server fails the test: it never skips.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server not found on PATH: install moto's server (pip install 'moto[server]==5.2.1') "+
			"and put moto_server on PATH: %v", err)
	}

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("moto: no free loopback port: %v", err)
		}
		m, err := startMoto(t, bin, port)
		if err == nil {
			return m
		}
		lastErr = err
	}
	t.Fatalf("moto: %v", lastErr)
	return nil
}

func startMoto(t testing.TB, bin string, port int) (*Moto, error) {
	logPath := filepath.Join(t.TempDir(), "moto.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	m := &Moto{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(m.done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the whole process group
			<-m.done
		})
	}
	t.Cleanup(stop)

	deadline := time.Now().Add(motoStartTimeout) // clock: a polling deadline
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-m.done:
			return nil, fmt.Errorf("moto_server on port %d exited before answering; its log:\n%s", port, m.Log())
		default:
		}
		resp, err := client.Get(m.URL + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m, nil
			}
		}
		if time.Now().After(deadline) { // clock: a polling deadline
			stop()
			return nil, fmt.Errorf("moto_server on port %d did not answer within %s (last error: %v); its log:\n%s",
				port, motoStartTimeout, err, m.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Log returns what moto_server printed so far (its request log), for failure messages.
func (m *Moto) Log() string {
	b, err := os.ReadFile(m.log)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return string(b)
}

// Reset wipes every service in moto (POST /moto-api/reset), the state bucket included. A Front in front of it
// notices on its next add-on call and drops the add-ons of the clusters that are gone.
func (m *Moto) Reset(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/moto-api/reset", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("moto reset: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto reset: HTTP %d", resp.StatusCode)
	}
}

// Env returns the environment a Terraform or AWS SDK process needs to send every AWS call to endpoint (a Front's
// or Moto's URL), with fake credentials, in Region. No shared config or credentials file is read.
//
// The S3 backend follows AWS_ENDPOINT_URL too, but it also needs path-style addressing: give it
// `use_path_style = true` (for example `terraform init -backend-config=use_path_style=true`), because
// virtual-host style would put the bucket in the host name. AWS_ENDPOINT_URL_S3 is not needed.
func Env(endpoint string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
	}
}

// CommandEnv returns this process's environment with every AWS_* variable replaced by Env(endpoint) (so a
// profile, session token or per-service endpoint of the developer's shell cannot leak in), and with
// TF_CLI_CONFIG_FILE set to cliConfig when it is not empty.
func CommandEnv(endpoint, cliConfig string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || (cliConfig != "" && strings.HasPrefix(kv, "TF_CLI_CONFIG_FILE=")) {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, Env(endpoint)...)
	if cliConfig != "" {
		out = append(out, "TF_CLI_CONFIG_FILE="+cliConfig)
	}
	return out
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
