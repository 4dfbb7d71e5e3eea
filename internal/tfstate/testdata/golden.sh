#!/usr/bin/env bash
# Writes NAME.show.json and NAME.output.json, `terraform show -json` and `terraform output -json` of each
# NAME.tfstate here: the golden files of decode_test.go (go generate ./internal/tfstate). The other states are
# written by hand; applied.tfstate is written again by an apply. Offline: show needs only the provider's schema, so Terraform installs
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

# applied.tfstate is a state Terraform wrote itself: an apply of terraform_data resources (built in, no cloud)
# with count, for_each, nested modules and a sensitive output.
app="$work/applied"
mkdir -p "$app/mod/inner"
cat >"$app/main.tf" <<'TF'
resource "terraform_data" "one" { input = "x" }
resource "terraform_data" "counted" {
  count = 3
  input = { n = count.index, tags = ["a", "b"] }
}
resource "terraform_data" "keyed" {
  for_each = toset(["us-east-1a", "odd \"key\" $${x}"])
  input    = each.key
}
module "m" {
  source   = "./mod"
  for_each = toset(["a", "b"])
}
output "one_id" { value = terraform_data.one.id }
output "secret" {
  value     = "s3cr3t"
  sensitive = true
}
output "counted" { value = [for r in terraform_data.counted : r.output.n] }
TF
cat >"$app/mod/main.tf" <<'TF'
resource "terraform_data" "here" { input = 1.5 }
module "inner" { source = "./inner" }
TF
echo 'resource "terraform_data" "deep" { input = true }' >"$app/mod/inner/main.tf"
terraform -chdir="$app" init -input=false -no-color >/dev/null
terraform -chdir="$app" apply -auto-approve -input=false -no-color >/dev/null
jq . "$app/terraform.tfstate" >"$here/applied.tfstate"
for f in "$here"/*.tfstate; do
  terraform -chdir="$work" show -json "$f" | jq . >"${f%.tfstate}.show.json"
  terraform -chdir="$work" output -json -state="$f" | jq . >"${f%.tfstate}.output.json"
  echo "wrote ${f%.tfstate}.show.json and .output.json"
done
