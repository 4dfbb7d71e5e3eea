#!/usr/bin/env bash
# Writes NAME.show.json and NAME.output.json, `terraform show -json` and `terraform output -json` of each
# NAME.tfstate here: the golden files of decode_test.go (go generate ./internal/tfstate). Offline: show needs only the provider's schema, so Terraform installs
# hashicorp/aws from the filesystem mirror that scripts/terraform-cli-config.sh finds. Made with Terraform 1.11.4
# and hashicorp/aws 5.100.0; the versions used are printed. jq only indents.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
TF_CLI_CONFIG_FILE=$(bash "$root/scripts/terraform-cli-config.sh")
export TF_CLI_CONFIG_FILE CHECKPOINT_DISABLE=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/main.tf" <<'TF'
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}
TF
terraform -chdir="$work" init -input=false -no-color >/dev/null
terraform -chdir="$work" version
for f in "$here"/*.tfstate; do
  terraform -chdir="$work" show -json "$f" | jq . >"${f%.tfstate}.show.json"
  terraform -chdir="$work" output -json -state="$f" | jq . >"${f%.tfstate}.output.json"
  echo "wrote ${f%.tfstate}.show.json and .output.json"
done
