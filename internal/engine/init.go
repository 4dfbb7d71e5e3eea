package engine

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
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

// Init runs `init -reconfigure` with the S3 backend the document declares, plus BackendConfig. -reconfigure
// makes the backend block of the current document win over whatever an earlier init recorded in .terraform, and
// never migrates state between backends.
func (e *Engine) Init(ctx context.Context) error {
	opts := []tfexec.InitOption{tfexec.Reconfigure(true), tfexec.Upgrade(false)}
	for _, bc := range BackendConfig(e.getenv) {
		opts = append(opts, tfexec.BackendConfig(bc))
	}
	return e.run("init", true, func() error { return e.tf.Init(ctx, opts...) })
}
