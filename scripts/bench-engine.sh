#!/usr/bin/env bash
# Times tapstack's two Terraform workflows against plain Terraform on the same JSON, side by side, on moto:
#
#   bash scripts/bench-engine.sh [RUNS]        # RUNS defaults to 5
#
#   deploy   `tapstack deploy --skip-live-checks` of a new environment in a fresh working copy, against
#            `terraform init` + `terraform apply -auto-approve` of the same document (`tapstack synth` of another
#            suffix, untimed) in a fresh directory.
#   deploy+live  the same deploy with the live checks, against the same Terraform figures (BENCH_LIVE=0 skips it).
#   plan     `tapstack plan --detailed-exitcode` of an environment already deployed and unchanged (exit 0), against
#            `terraform plan -detailed-exitcode` in the plain directory Terraform applied (initialised: warm).
#
# Warm against warm: both sides use one Terraform CLI configuration (scripts/terraform-cli-config.sh, the local
# provider mirror) and ONE plugin cache (TF_PLUGIN_CACHE_DIR), which an untimed warm-up init fills before anything
# is timed; each plan side gets one untimed warm-up run. The sides are interleaved, their order rotating each
# round (A B, B A, ...), so machine load and moto's growing state weigh on both alike. Each deploy round starts
# on an empty account (moto reset); the plan rounds use the last deploy round's environments. The figure of a
# side is the median of RUNS runs; the ratio is tapstack's median over Terraform's.
#
# moto 5.2.1 (moto_server on PATH) serves the account behind the end-to-end tests' front (test/e2e/harness,
# run by test/e2e/harness/cmd/front), which fills the EKS calls moto lacks. The front's change delay is
# BENCH_FRONT_DELAY (10ms; the tests use 2s), so the figures measure the tools rather than emulated waiting.
#
# Environment: BENCH_TIMEOUT (limit of each timed command, default 20m), BENCH_LIVE (1: also time deploy with
# the live checks), BENCH_FRONT_DELAY, BENCH_KEEP (1: keep the work directory and its logs), TAPSTACK_PROVIDER_MIRROR
# (see scripts/terraform-cli-config.sh). Exit 0 when every command succeeded, whatever the ratios; 1 when one
# failed (its log's tail is printed); 2 on bad usage. It starts moto and the front itself and stops only them.
set -euo pipefail

die() { echo "bench-engine: $*" >&2; exit 1; }
note() { echo "bench-engine: $*" >&2; }

usage() { echo "usage: bash scripts/bench-engine.sh [RUNS]   (RUNS >= 1, default 5)" >&2; exit 2; }
[[ $# -le 1 ]] || usage
runs=${1:-5}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || usage

((BASH_VERSINFO[0] >= 5)) || die "needs bash 5 or newer (EPOCHREALTIME), this is $BASH_VERSION"
limit=${BENCH_TIMEOUT:-20m}
live=${BENCH_LIVE:-1}
delay=${BENCH_FRONT_DELAY:-10ms}
day=2026-12-01
region=us-east-1
bucket="tapstack-bench-state"

for tool in go terraform moto_server timeout curl awk; do
  command -v "$tool" >/dev/null || die "$tool not found on PATH"
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tapstack-bench.XXXXXX")
front_pid=""
child_pid=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$child_pid" ]]; then
    kill -TERM "$child_pid" 2>/dev/null || true # timeout(1): it passes the signal to its process group
    wait "$child_pid" 2>/dev/null || true
  fi
  if [[ -n "$front_pid" ]]; then
    kill -TERM "$front_pid" 2>/dev/null || true # the front kills moto's process group
    wait "$front_pid" 2>/dev/null || true
  fi
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
    note "kept $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The environment of every tool: every AWS call to the front with fake credentials, and nothing of the caller's
# AWS, tapstack or Terraform settings.
while IFS= read -r name; do
  case $name in
    AWS_* | TF_LOG* | TF_DATA_DIR | TF_WORKSPACE | TF_CLI_ARGS* | TF_INPUT | TF_IN_AUTOMATION | TF_PLUGIN_CACHE_* | \
      TAPSTACK_* | ENVIRONMENT_SUFFIX | TERRAFORM_STATE_BUCKET | TERRAFORM_STATE_BUCKET_REGION | \
      REPOSITORY | COMMIT_AUTHOR | PR_NUMBER | TEAM)
      unset "$name" ;;
  esac
done < <(compgen -e)
export CHECKPOINT_DISABLE=1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=$region AWS_DEFAULT_REGION=$region
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

TF_CLI_CONFIG_FILE=$(TMPDIR=$tmp bash "$repo/scripts/terraform-cli-config.sh") ||
  die "scripts/terraform-cli-config.sh failed"
export TF_CLI_CONFIG_FILE
export TF_PLUGIN_CACHE_DIR=$tmp/plugin-cache
mkdir -p "$TF_PLUGIN_CACHE_DIR" "$tmp/bin" "$tmp/logs"

note "building tapstack and the test front"
(cd "$repo" && go build -o "$tmp/bin/tapstack" ./cmd/tapstack && go build -o "$tmp/bin/front" ./test/e2e/harness/cmd/front) ||
  die "go build failed"
tapstack=$tmp/bin/tapstack
# What was built, for the report.
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z "$(git -C "$repo" status --porcelain 2>/dev/null)" ]] || commit+=" (with local changes)"

# run LOG DIR CMD...: runs CMD in DIR under timeout(1), its output to LOG, in the background so that a signal
# reaches the trap at once (which stops timeout and, through it, CMD's process group); returns CMD's exit status.
run() {
  local log=$1 dir=$2 rc=0
  shift 2
  (cd "$dir" && exec timeout -k 30s "$limit" "$@") >"$log" 2>&1 &
  child_pid=$!
  wait "$child_pid" || rc=$?
  child_pid=""
  return "$rc"
}

# failed LOG WHAT RC: prints the end of LOG and exits 1.
failed() {
  local log=$1 what=$2 rc=$3 why
  why="exit $rc"
  [[ $rc == 124 || $rc == 137 ]] && why="timed out after $limit"
  echo "bench-engine: $what failed ($why); the end of its log ($log):" >&2
  tail -n 40 "$log" | sed 's/^/  | /' >&2
  exit 1
}

# timed VAR WANT LOG WHAT DIR CMD...: runs CMD in DIR (run), fails unless it exits WANT, and appends its seconds
# to the array VAR.
timed() {
  local -n into=$1
  local want=$2 log=$3 what=$4 dir=$5 rc=0 start end
  shift 5
  start=$EPOCHREALTIME
  run "$log" "$dir" "$@" || rc=$?
  end=$EPOCHREALTIME
  [[ $rc == "$want" ]] || failed "$log" "$what" "$rc"
  into+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')")
}

# untimed LOG WHAT DIR CMD...: runs CMD in DIR and fails unless it exits 0.
untimed() {
  local log=$1 what=$2 dir=$3 rc=0
  shift 3
  run "$log" "$dir" "$@" || rc=$?
  [[ $rc == 0 ]] || failed "$log" "$what" "$rc"
}

# The stack flags of tapstack: the default profile, on the fixed day; $1 the suffix. The deploys also take
# --skip-in-cluster: no Kubernetes API server answers the front's clusters, and Terraform applies nothing like it.
stack_args() {
  printf '%s\n' --profile default --environment-suffix "$1" --region "$region" --state-bucket "$bucket" \
    --state-bucket-region "$region" --date "$day"
}

# Terraform as tapstack drives it: the S3 backend with path-style addressing (internal/engine BackendConfig),
# no input, no colour; plan and apply with tapstack's default -lock-timeout=0s.
tf_init=(terraform init -input=false -no-color -backend-config=use_path_style=true)
tf_apply=(terraform apply -auto-approve -input=false -no-color -lock-timeout=0s)
tf_plan=(terraform plan -detailed-exitcode -input=false -no-color -lock-timeout=0s)
# init and apply as one timed command (bash -c costs a few milliseconds once).
tf_deploy="${tf_init[*]} && exec ${tf_apply[*]}"

# synth SUFFIX DIR: writes the stack of SUFFIX under DIR and prints the stack's directory.
synth() {
  local suffix=$1 dir=$2 args
  mkdir -p "$dir"
  mapfile -t args < <(stack_args "$suffix")
  untimed "$tmp/logs/synth-$suffix.log" "tapstack synth ($suffix)" "$dir" "$tapstack" synth "${args[@]}"
  echo "$dir/cdktf.out/stacks/TapStack$suffix"
}

# Start moto and the front; the front writes its URL once the state bucket exists.
note "starting moto and the test front (change delay $delay)"
"$tmp/bin/front" -url-file "$tmp/front.url" -log "$tmp/logs/moto.log" -bucket "$bucket" -delay "$delay" -day "$day" \
  >"$tmp/logs/front.log" 2>&1 &
front_pid=$!
for ((i = 0; i < 180; i++)); do
  [[ -s "$tmp/front.url" ]] && break
  kill -0 "$front_pid" 2>/dev/null || { cat "$tmp/logs/front.log" >&2; front_pid=""; die "the front exited before answering"; }
  sleep 0.5
done
[[ -s "$tmp/front.url" ]] || die "the front did not answer within 90s; see $tmp/logs/front.log"
endpoint=$(<"$tmp/front.url")
export AWS_ENDPOINT_URL=$endpoint

reset_account() {
  curl -fsS --max-time 120 -X POST "$endpoint/_bench/reset" >/dev/null || die "resetting the account failed"
}

token=$(printf '%04x' $((RANDOM % 65536)))

# Warm-up, untimed: one init fills the shared plugin cache and pages the provider in, one plan wakes moto's
# services; both sides start every timed run from there.
note "warm-up (untimed)"
warm=$(synth "w$token" "$tmp/warm")
untimed "$tmp/logs/warm-init.log" "warm-up terraform init" "$warm" "${tf_init[@]}"
untimed "$tmp/logs/warm-plan.log" "warm-up terraform plan" "$warm" terraform plan -input=false -no-color -lock-timeout=0s

sides=(tapstack terraform)
[[ "$live" == 1 ]] && sides+=(live)
dep_tap=() dep_tf=() dep_live=() plan_tap=() plan_tf=()
last_tap="" last_tf=""

for ((i = 1; i <= runs; i++)); do
  reset_account
  n=${#sides[@]}
  order=()
  for ((k = 0; k < n; k++)); do order+=("${sides[$(((k + i - 1) % n))]}"); done
  note "deploy round $i/$runs: ${order[*]}"
  for side in "${order[@]}"; do
    case $side in
      tapstack | live)
        suffix=b$token${side:0:1}$i
        wc=$tmp/deploy/$suffix
        mkdir -p "$wc"
        mapfile -t args < <(stack_args "$suffix")
        if [[ $side == tapstack ]]; then
          timed dep_tap 0 "$tmp/logs/deploy-$suffix.log" "tapstack deploy --skip-live-checks ($suffix)" \
            "$wc" "$tapstack" deploy --skip-live-checks --skip-in-cluster "${args[@]}"
          last_tap=$wc
        else
          timed dep_live 0 "$tmp/logs/deploy-$suffix.log" "tapstack deploy with live checks ($suffix)" \
            "$wc" "$tapstack" deploy --live-timeout 3m --skip-in-cluster "${args[@]}"
        fi
        ;;
      terraform)
        suffix=b${token}f$i
        stackdir=$(synth "$suffix" "$tmp/deploy/$suffix")
        timed dep_tf 0 "$tmp/logs/deploy-$suffix.log" "terraform init + apply ($suffix)" "$stackdir" \
          bash -c "$tf_deploy"
        last_tf=$stackdir
        ;;
    esac
  done
done

# Plan: the last round's environments, deployed and unchanged. Exit 0 expected of both.
mapfile -t args < <(stack_args "$(basename "$last_tap")")
plan_tapstack() {
  timed "$1" 0 "$tmp/logs/plan-tapstack-$2.log" "tapstack plan --detailed-exitcode (run $2)" \
    "$last_tap" "$tapstack" plan --detailed-exitcode "${args[@]}"
}
plan_terraform() {
  timed "$1" 0 "$tmp/logs/plan-terraform-$2.log" "terraform plan -detailed-exitcode (run $2)" "$last_tf" "${tf_plan[@]}"
}
note "plan warm-up (untimed)"
warmup=()
plan_tapstack warmup warm
plan_terraform warmup warm
note "plan warm-up: tapstack ${warmup[0]} s, terraform ${warmup[1]} s"
for ((i = 1; i <= runs; i++)); do
  if ((i % 2)); then
    note "plan round $i/$runs: tapstack terraform"
    plan_tapstack plan_tap "$i"
    plan_terraform plan_tf "$i"
  else
    note "plan round $i/$runs: terraform tapstack"
    plan_terraform plan_tf "$i"
    plan_tapstack plan_tap "$i"
  fi
done

# median SECONDS...: the median, two decimals.
median() {
  printf '%s\n' "$@" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# row WORKFLOW TAPSTACK_TIMES TERRAFORM_TIMES: one line of the table (the times space-separated).
row() {
  local a b ta tb
  read -ra ta <<<"$2"
  read -ra tb <<<"$3"
  a=$(median "${ta[@]}")
  b=$(median "${tb[@]}")
  awk -v w="$1" -v a="$a" -v b="$b" -v n="${#ta[@]}" \
    'BEGIN { printf "| %-42s | %10.2f s | %10.2f s | %6.2fx | %4d |\n", w, a, b, a / b, n }'
}

tf_version=$(terraform version)
echo
echo "tapstack vs plain Terraform on moto: the same JSON, warm against warm, interleaved, median of $runs run(s)"
echo "commit $commit; ${tf_version%%$'\n'*}; moto behind the test front, change delay $delay;" \
  "$(nproc) cores, load average $(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo
printf '| %-42s | %12s | %12s | %7s | %4s |\n' workflow "tapstack" "terraform" ratio runs
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..44})" "$(printf -- '-%.0s' {1..14})" \
  "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..9})" "------"
row "deploy, new environment (no live checks)" "${dep_tap[*]}" "${dep_tf[*]}"
if [[ "$live" == 1 ]]; then
  row "deploy, new environment (with live checks)" "${dep_live[*]}" "${dep_tf[*]}"
fi
row "plan --detailed-exitcode, unchanged" "${plan_tap[*]}" "${plan_tf[*]}"
echo
echo "deploy: tapstack deploy --skip-live-checks (and, second row, with the live checks) of a new environment vs"
echo "        terraform init + terraform apply -auto-approve of the same document; a fresh directory each run"
echo "plan:   tapstack plan --detailed-exitcode vs terraform plan -detailed-exitcode, both exit 0, one warm-up each"
echo "seconds per run, in order:"
echo "  deploy tapstack:  ${dep_tap[*]}"
if [[ "$live" == 1 ]]; then
  echo "  deploy tapstack with live checks: ${dep_live[*]}"
fi
echo "  deploy terraform: ${dep_tf[*]}"
echo "  plan tapstack:    ${plan_tap[*]}"
echo "  plan terraform:   ${plan_tf[*]}"
