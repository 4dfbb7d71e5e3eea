// Command front runs moto and the end-to-end tests' front (package harness) outside a test, for
// scripts/bench-engine.sh: tapstack and plain Terraform are timed against the same emulated account. It is
// test-only tooling, never part of a release.
//
//	go build -o front ./test/e2e/harness/cmd/front
//	front -url-file URL -log moto.log -bucket tapstack-bench-state [-delay 10ms] [-day 2026-12-01]
//
// It starts moto_server (MOTO_IAM_LOAD_MANAGED_POLICIES=true) on a free loopback port in a process group of its
// own, puts the front before it with a change delay of -delay (the tests use two seconds; a benchmark wants the
// tools measured, not emulated waiting), creates the state bucket, and then writes the front's URL to -url-file
// (atomically: the file appears only when everything answers). POST /_bench/reset on that URL wipes moto
// (moto-api/reset) and creates the state bucket again: a new, empty account. SIGINT or SIGTERM stops the front
// and kills moto's process group; on Linux moto also gets SIGKILL if this process dies (Pdeathsig).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tapstack/tapstack/test/e2e/harness"
)

// ResetPath is the control path that wipes the account and creates the state bucket again.
const ResetPath = "/_bench/reset"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "front:", err)
		os.Exit(1)
	}
}

func run() error {
	urlFile := flag.String("url-file", "", "write the front's URL to this file once it answers (required)")
	logFile := flag.String("log", os.DevNull, "moto_server's log")
	bucket := flag.String("bucket", "tapstack-bench-state", "the state bucket to create (again after each reset)")
	delay := flag.Duration("delay", 10*time.Millisecond, "how long each EKS change takes in the front (> 0)")
	day := flag.String("day", harness.TestDay, "the front's day for date-based answers")
	flag.Parse()
	if *urlFile == "" || flag.NArg() > 0 {
		flag.Usage()
		return errors.New("-url-file is required and no arguments are taken")
	}
	if *delay <= 0 {
		return fmt.Errorf("-delay %s: must be above zero", *delay)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	moto, err := startMoto(ctx, *logFile)
	if err != nil {
		return err
	}
	defer moto.stop()

	front, err := harness.NewFront(moto.url)
	if err != nil {
		return err
	}
	front.SetDelay(*delay)
	front.SetDay(*day)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on loopback: %w", err)
	}
	url := "http://" + l.Addr().String()
	// No ServeMux: it would clean and redirect paths the front must see as the provider sent them.
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != ResetPath {
			front.ServeHTTP(w, r)
			return
		}
		if err := reset(r.Context(), moto.url, url, *bucket); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "reset")
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 30 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	if err := createBucket(ctx, url, *bucket); err != nil {
		return err
	}
	if err := writeAtomic(*urlFile, url+"\n"); err != nil {
		return err
	}

	select {
	case <-ctx.Done():
		return nil
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-moto.done:
		return fmt.Errorf("moto_server exited; see its log %s", *logFile)
	}
}

// motoProc is the moto_server this process started.
type motoProc struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
}

func (m *motoProc) stop() {
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL) // its process group: moto_server is a shim and Python
	<-m.done
}

// startMoto starts moto_server on a free loopback port and waits up to a minute for it to answer.
func startMoto(ctx context.Context, logPath string) (*motoProc, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server not found on PATH (pip install 'moto[server]==5.2.1'): %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = motoProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	m := &motoProc{url: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(m.done) }()

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(time.Minute) // clock: a polling deadline
	for {
		select {
		case <-m.done:
			return nil, fmt.Errorf("moto_server exited before answering; see its log %s", logPath)
		case <-ctx.Done():
			m.stop()
			return nil, ctx.Err()
		default:
		}
		resp, err := client.Get(m.url + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m, nil
			}
		}
		if time.Now().After(deadline) { // clock: a polling deadline
			m.stop()
			return nil, fmt.Errorf("moto_server on port %d did not answer within a minute (last error: %v); see its log %s",
				port, err, logPath)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// reset wipes every service in moto and creates the state bucket again through the front.
func reset(ctx context.Context, motoURL, frontURL, bucket string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, motoURL+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("moto reset: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto reset: HTTP %d", resp.StatusCode)
	}
	return createBucket(ctx, frontURL, bucket)
}

func createBucket(ctx context.Context, endpoint, bucket string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := harness.S3Client(endpoint, harness.Region).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return nil
}

func writeAtomic(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".front-url-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
