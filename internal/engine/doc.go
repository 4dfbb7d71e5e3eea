// Package engine drives the Terraform CLI, or OpenTofu's, through hashicorp/terraform-exec in a synthesized
// stack's directory: init with the S3 backend, plan to a saved plan file, show that plan as JSON, apply it,
// destroy, and read outputs and state. It also holds what tapstack adds around those commands: engine discovery
// and version checks, a local lock on the stack directory, the plan guard that refuses to delete or replace
// the resources an environment cannot lose, and init reuse: EnsureInit skips init while the working copy is as
// the last init by the same engine left it for the same backend and providers (a fingerprint in
// .terraform/tapstack-init).
//
// One file per command, as terraform-exec lays itself out; errors are typed (errors.go).
//
// # Engines
//
// Terraform 1.11 or newer is the default: it is the first release with S3-native state locking
// (use_lockfile). OpenTofu 1.10 or newer is the other Kind the caller can pick. The executable is the engine's
// name on PATH (terraform or tofu), or TAPSTACK_ENGINE_PATH when set.
//
// OpenTofu resolves the provider source "hashicorp/aws" to registry.opentofu.org/hashicorp/aws, not to
// registry.terraform.io. Offline, give it a filesystem mirror laid out as
// registry.opentofu.org/hashicorp/aws/<version>/<os>_<arch>/ (or an include pattern for that host) in
// TF_CLI_CONFIG_FILE, or set TF_PLUGIN_CACHE_DIR; a Terraform mirror under registry.terraform.io is not used by
// OpenTofu as it is.
//
// # Endpoints
//
// The engine inherits the environment, so AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> reach both the AWS
// provider and the S3 backend. When an S3 endpoint is overridden, init adds -backend-config=use_path_style=true
// (BackendConfig), because an emulator cannot serve the bucket as a host name.
package engine
