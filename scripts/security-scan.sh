#!/usr/bin/env bash
# Scans every profile with trivy, offline: the synthesized Terraform JSON and the plan JSON (from a real
# `terraform plan` with the real provider, fake credentials and a local backend). Fails when profile hardened
# has a HIGH or CRITICAL finding, when another profile has a HIGH or CRITICAL finding docs/security.md does not
# list as accepted for it, and when trivy did not really scan a profile's plan (a parse error, or fewer blocks
# than the plan has resources), so an unscanned plan can never pass as clean. Reports go to
# ${SCAN_OUT:-security-reports}/: <profile>.json (trivy), <profile>.txt (HIGH/CRITICAL table), <profile>.log
# (trivy's debug log).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${SCAN_OUT:-$root/security-reports}
mkdir -p "$out"

# TRIVY names a binary; otherwise the pinned version from the tool cache, built there on first use.
trivy=${TRIVY:-$(bash scripts/build-trivy.sh)}
"$trivy" --version | sed -n 1p # not head: exiting early would SIGPIPE trivy under pipefail

if [[ -z "${TF_CLI_CONFIG_FILE:-}" || ! -f "${TF_CLI_CONFIG_FILE}" ]]; then
  TF_CLI_CONFIG_FILE=$(bash scripts/terraform-cli-config.sh)
fi
export TF_CLI_CONFIG_FILE CHECKPOINT_DISABLE=1
go build -o "$out/tapstack" ./cmd/tapstack

# accepted ID PROFILE: true when docs/security.md's accepted-findings table has a row for ID whose profiles column
# (the second one) names PROFILE. Only that column counts: a profile named in the "why" text does not.
accepted() {
  awk -F'|' -v id="$1" -v profile="$2" '
    { gsub(/^[ \t]+|[ \t]+$/, "", $2) }
    $2 == id { n = split($3, p, ","); for (i = 1; i <= n; i++) { gsub(/[ \t`]/, "", p[i]); if (p[i] == profile) found = 1 } }
    END { exit !found }' docs/security.md
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for profile in original default hardened; do
  dir="$work/$profile"
  mkdir -p "$dir"
  # Zones pinned: the plan runs without AWS. --allow: profile original's 1.29 is past support, which check reports.
  "$out/tapstack" synth --profile "$profile" --out "$dir/out" --availability-zones us-east-1a,us-east-1b >/dev/null 2>&1
  stack="$dir/out/stacks/TapStackdev"
  cat >"$stack/offline_override.tf.json" <<'JSON'
{"terraform": {"backend": {"local": {"path": "terraform.tfstate"}}},
 "provider": {"aws": {"region": "us-east-1", "access_key": "offline", "secret_key": "offline",
   "skip_credentials_validation": true, "skip_requesting_account_id": true, "skip_metadata_api_check": true}}}
JSON
  (cd "$stack" && terraform init -input=false >/dev/null && terraform plan -input=false -refresh=false -out=plan.tfplan >/dev/null &&
    terraform show -json plan.tfplan >"$dir/plan.json")
  mkdir -p "$dir/scan"
  cp "$stack/cdk.tf.json" "$dir/scan/cdk.tf.json"

  # trivy does not scan the plan JSON itself: it renders it as HCL (a main.tf) and parses that. Two things in our
  # plans defeat that rendering, so trivy gets a copy of the plan with exactly these rewritten (plan.json itself
  # is untouched, and every resource stays in the copy):
  #  1. A list element that is unknown until apply is `null` in the plan (e.g. the KMS key ARN in the
  #     resources of data.aws_iam_policy_document.eks_cluster_encryption_policy, the account in the key
  #     policy's principals, the OIDC provider ARN in the vpc-cni trust policy: all data sources read at
  #     apply). trivy v0.74.0 renders a null list element as the Go text `<nil>`
  #     (pkg/iac/scanners/terraformplan/tfjson/parser/block.go: renderSlice -> renderPrimitive "%#v"), which
  #     is not HCL: "Error parsing file ... main.tf:N,7-8: Invalid expression", after which trivy scans no
  #     plan at all ("No files found, nothing to do") and reports it clean. No trivy issue about it was found
  #     (#7630 only added the `cause` field that shows the `<nil>`). Such an element becomes the string
  #     "(known after apply)"; a null list element that the plan does not mark unknown stops the scan.
  #  2. Terraform's plan JSON gives each expression of a JSON-syntax configuration (which cdktf writes) both a
  #     constant_value (the raw "${aws_kms_key.eks_kms_key.arn}" template) and its references. For an
  #     attribute unknown until apply, trivy fills in the expression from the configuration, taking whichever
  #     of the two keys Go's map order yields first (parser.go: unpackConfigurationValue), and only a reference
  #     is used: the result changes from run to run (AWS-0178 flow logs failed in 5 of 6 runs of one plan)
  #     and a key ARN known only after apply mostly looks missing (AWS-0039 "Cluster encryption requires a KMS key
  #     ID, which is missing" on a cluster whose key_arn is aws_kms_key.eks_kms_key.arn). Where an expression
  #     has references, its constant_value is dropped, so trivy always uses the reference, as it does for
  #     HCL configurations, whose plan has no constant_value for a non-constant expression.
  python3 - "$dir/plan.json" "$dir/scan/tfplan.json" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
placeholder, unknowns, bad = "(known after apply)", [], []

def fill(value, unknown, path):
    if isinstance(value, list):
        for i, v in enumerate(value):
            u = unknown[i] if isinstance(unknown, list) and i < len(unknown) else unknown is True
            if v is None:
                if u is True:
                    value[i] = placeholder
                    unknowns.append(f"{path}[{i}]")
                else:
                    bad.append(f"{path}[{i}]")
            else:
                fill(v, u, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            fill(v, unknown.get(k) if isinstance(unknown, dict) else unknown is True, f"{path}.{k}")

for rc in plan.get("resource_changes") or []:
    fill(rc["change"].get("after"), rc["change"].get("after_unknown"), rc["address"])

dropped = 0
def expressions(x):
    global dropped
    if isinstance(x, list):
        for e in x:
            expressions(e)
    elif isinstance(x, dict):
        if "constant_value" in x or "references" in x:  # an expression: a leaf
            if x.get("references") and "constant_value" in x:
                del x["constant_value"]
                dropped += 1
            return
        for e in x.values():
            expressions(e)

def module(m):
    for r in m.get("resources") or []:
        expressions(r.get("expressions"))
    for call in (m.get("module_calls") or {}).values():
        module(call.get("module") or {})

module((plan.get("configuration") or {}).get("root_module") or {})
if bad:
    sys.exit("security: null list elements the plan does not mark unknown; trivy would render them as <nil>: " + ", ".join(bad))
json.dump(plan, open(sys.argv[2], "w"))
print(f"security:   plan copy for trivy: {dropped} expressions reduced to their references; "
      f"{len(unknowns)} list elements unknown until apply given as \"{placeholder}\"" + (":" if unknowns else ""))
for u in unknowns:
    print(f"security:     {u}")
PY

  # --debug: the log is what tells a scanned plan from one trivy could not parse (the report looks the same).
  if ! "$trivy" config --skip-check-update --debug --format json --output "$out/$profile.json" "$dir/scan" 2>"$out/$profile.log"; then
    echo "security: profile $profile: trivy failed; see $out/$profile.log"; status=1; continue
  fi
  "$trivy" convert --scanners misconfig --format table --severity HIGH,CRITICAL --output "$out/$profile.txt" "$out/$profile.json"

  # Parse guard. trivy logs a file it cannot parse at ERROR and goes on without it: the plan's main.tf then
  # yields no target at all, and the report looks clean. Fail on any ERROR but the expected offline fallback to
  # the embedded checks, and require that the plan scan read one block per resource of the plan. (A report
  # target for the plan, main.tf, exists only when a check fails, so a clean plan has none: the report cannot
  # tell a clean plan from an unscanned one; the log can.)
  if ! python3 - "$out/$profile.log" "$dir/scan/tfplan.json" "$profile" <<'PY'
import json, re, sys
log, plan, profile = open(sys.argv[1]).read().splitlines(), json.load(open(sys.argv[2])), sys.argv[3]
fail = []
for line in log:
    if "\tERROR\t" in line and "Falling back to embedded checks" not in line:
        fail.append("trivy logged an error: " + line.split("\t", 2)[-1])
    if "No files found, nothing to do" in line:
        fail.append("trivy found nothing to scan: " + line.split("\t", 2)[-1])

def count(m):
    return len(m.get("resources") or []) + sum(count(c) for c in m.get("child_modules") or [])
want = count((plan.get("planned_values") or {}).get("root_module") or {})
# trivy runs its scanners one after the other, in no fixed order, each starting with "Scanning files for
# misconfigurations... scanner=...". In the plan scanner's part of the log, "[tfjson scanner] Scanning file" names
# the plan, and "[terraform parser] Read block(s) ... blocks=N" counts the blocks of the main.tf rendered from it.
part, inside = [], False
for line in log:
    if "Scanning files for misconfigurations" in line:
        inside = 'scanner="Terraform Plan JSON"' in line
    elif inside:
        part.append(line)
seen = any("[tfjson scanner] Scanning file" in line for line in part)
counts = [int(m.group(1)) for line in part if "Read block(s)" in line for m in [re.search(r"blocks=(\d+)", line)] if m]
got = sum(counts) if counts else None
if not seen:
    fail.append("trivy did not scan the plan JSON (no \"[tfjson scanner] Scanning file\" in its plan scanner's log)")
elif got is None:
    fail.append("trivy did not parse the HCL it rendered from the plan (no \"Read block(s)\" in its plan scanner's log)")
elif got != want:
    fail.append(f"trivy's plan scan read {got} blocks, the plan has {want} resources")
if fail:
    for f in dict.fromkeys(fail):  # trivy logs a parse error twice
        print(f"security: profile {profile}: scan incomplete: {f}", file=sys.stderr)
    sys.exit(1)
print(f"security:   plan scanned: {got} of {want} resources")
PY
  then
    echo "security: profile $profile: trivy did not scan everything, so its findings are unknown (not clean); see $out/$profile.log"
    status=1; continue
  fi

  # HIGH/CRITICAL IDs that count: those the plan scan confirms. trivy cannot read nested blocks in Terraform's JSON
  # syntax (aquasecurity/trivy #5080, #5081, #5907), so a hit on cdk.tf.json that the plan of the very same
  # document passes is a parser artefact; it is printed, not counted.
  ids=$(python3 - "$out/$profile.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
hits = {}
for res in r.get("Results") or []:
    plan = res["Target"] != "cdk.tf.json"
    for m in res.get("Misconfigurations") or []:
        if m.get("Status") == "FAIL" and m.get("Severity") in ("HIGH", "CRITICAL"):
            key = (m["ID"], (m.get("CauseMetadata") or {}).get("Resource", ""))
            hits.setdefault(key, set()).add("plan" if plan else "json")
for (i, res), where in sorted(hits.items()):
    if where == {"json"}:
        print(f"security:   not counted: {i} on {res} only in cdk.tf.json (trivy JSON-syntax limitation)", file=sys.stderr)
    else:
        print(f"security:   {i} on {res}", file=sys.stderr)
print(" ".join(sorted({i for (i, _), where in hits.items() if "plan" in where})))
PY
)
  echo "security: profile $profile: HIGH/CRITICAL: ${ids:-none}"
  for id in $ids; do
    if [[ $profile == hardened ]]; then
      echo "security: profile hardened must have no HIGH or CRITICAL finding, has $id"; status=1
    elif ! accepted "$id" "$profile"; then
      echo "security: $id in profile $profile is not listed in docs/security.md"; status=1
    fi
  done
done
exit $status
