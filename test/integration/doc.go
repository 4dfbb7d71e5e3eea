// Package integration is the original stack's integration suite rebuilt in Go: it reads the pipeline's outputs
// file and verifies the live stack through pkg/live, against whatever account or endpoint the environment names
// (the standard AWS credential chain; AWS_ENDPOINT_URL for an emulator). Its tests build only with the integration
// tag:
//
//	go test -tags integration ./test/integration/
//
// The outputs file is TAPSTACK_OUTPUTS_FILE, or cfn-outputs/flat-outputs.json; a relative path is taken from the
// repository root. The configuration is the one tapstack would use: the environment (ENVIRONMENT_SUFFIX,
// AWS_REGION, ...) and the YAML file TAPSTACK_CONFIG when set; without ENVIRONMENT_SUFFIX, the suffix is read from
// the outputs' cluster name. A missing outputs file fails the suite: it never skips.
package integration
