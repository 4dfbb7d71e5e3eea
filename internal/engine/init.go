package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/tapstack/tapstack/internal/fsutil"
)

// BackendConfig returns the -backend-config values the environment calls for: use_path_style=true when the S3
// endpoint is overridden (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is
// true), because an emulator or a private endpoint cannot serve the bucket as a host name.
func BackendConfig(getenv func(string) string) []string {
	if strings.EqualFold(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return nil
	}
	if getenv("AWS_ENDPOINT_URL_S3") != "" || getenv("AWS_ENDPOINT_URL") != "" {
		return []string{"use_path_style=true"}
	}
	return nil
}

// InitMarker is the file, in the engine's data directory (.terraform, or TF_DATA_DIR), where Init records what
// it initialised the working copy for; EnsureInit skips init while that still holds.
const InitMarker = "tapstack-init"

// LockFile is the engine's dependency lock file in the stack directory, written by init.
const LockFile = ".terraform.lock.hcl"

// Init runs `init -reconfigure` with the S3 backend the document declares, plus BackendConfig. -reconfigure
// makes the backend block of the current document win over whatever an earlier init recorded in .terraform, and
// never migrates state between backends. After a successful init it records the working copy's fingerprint
// (InitMarker), which a failed one leaves removed.
func (e *Engine) Init(ctx context.Context) error {
	marker := filepath.Join(e.dataDir(), InitMarker)
	if err := os.Remove(marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	opts := []tfexec.InitOption{tfexec.Reconfigure(true), tfexec.Upgrade(false)}
	for _, bc := range BackendConfig(e.getenv) {
		opts = append(opts, tfexec.BackendConfig(bc))
	}
	if err := e.run("init", true, func() error { return e.tf.Init(ctx, opts...) }); err != nil {
		return err
	}
	// The marker only saves a later init: without one (no lock file, say, or a write that failed) the next
	// EnsureInit runs init again.
	if fp, err := e.initFingerprint(); err == nil {
		_ = fsutil.WriteFile(marker, []byte(fp+"\n"), 0o644)
	}
	return nil
}

// EnsureInit runs Init unless this engine (same kind, executable and version) already initialised the working
// copy for the same terraform and module blocks, the same -backend-config values and the same data directory,
// and the lock file and installed providers (and the backend record, with a backend) are still there as init
// left them. It reports whether init ran; when it did not, no engine command ran.
func (e *Engine) EnsureInit(ctx context.Context) (ran bool, err error) {
	if e.initCurrent() {
		return false, nil
	}
	return true, e.Init(ctx)
}

// initCurrent reports whether the recorded fingerprint matches the working copy as it is now.
func (e *Engine) initCurrent() bool {
	recorded, err := os.ReadFile(filepath.Join(e.dataDir(), InitMarker))
	if err != nil {
		return false
	}
	fp, err := e.initFingerprint()
	if err != nil || strings.TrimSpace(string(recorded)) != fp {
		return false
	}
	_, err = os.Stat(filepath.Join(e.dataDir(), "providers"))
	return err == nil
}

// dataDir is where the engine keeps its working data: TF_DATA_DIR (relative to the stack directory) or .terraform.
func (e *Engine) dataDir() string {
	d := e.getenv("TF_DATA_DIR")
	if d == "" {
		d = ".terraform"
	}
	if !filepath.IsAbs(d) {
		d = filepath.Join(e.dir, d)
	}
	return d
}

// initFingerprint hashes what init depends on: the engine, the -backend-config values, the data directory, the
// terraform and module blocks of every *.tf.json file (whole *.tf files, which are not parsed here), the lock
// file and, with a backend, the engine's record of it (data directory's terraform.tfstate, which only init
// writes). A missing lock file or record is an error: there is nothing to reuse.
func (e *Engine) initFingerprint() (string, error) {
	in := map[string]any{
		"engine":         []string{string(e.kind), e.path, e.version.String()},
		"backend_config": BackendConfig(e.getenv),
		"data_dir":       e.dataDir(),
	}
	docs, _ := filepath.Glob(filepath.Join(e.dir, "*.tf.json"))
	files, _ := filepath.Glob(filepath.Join(e.dir, "*.tf"))
	sort.Strings(docs)
	sort.Strings(files)
	files = append(files, filepath.Join(e.dir, LockFile))
	backend := false
	for _, p := range docs {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var doc struct {
			Terraform any `json:"terraform"`
			Module    any `json:"module"`
		}
		if err := dec.Decode(&doc); err != nil {
			return "", fmt.Errorf("%s: %w", filepath.Base(p), err)
		}
		in["json:"+filepath.Base(p)] = doc
		if tf, ok := doc.Terraform.(map[string]any); ok && tf["backend"] != nil {
			backend = true
		}
	}
	if backend {
		files = append(files, filepath.Join(e.dataDir(), "terraform.tfstate"))
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		in["file:"+p] = hex.EncodeToString(sum[:])
	}
	b, err := json.Marshal(in) // map keys come out sorted
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
