#!/usr/bin/env bash
# Prints the path of trivy TRIVY_VERSION, building it from the Go module proxy into a cache kept by version when it
# is not there yet (about 20 minutes on two cores the first time; trivy needs GOEXPERIMENT=jsonv2). The binary is
# written under a temporary name and moved into place, so a build that is interrupted leaves no half binary.
set -euo pipefail
version=${TRIVY_VERSION:-v0.74.0}
cache=${TAPSTACK_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tapstack/tools}
dir="$cache/trivy-$version"
if [[ ! -x "$dir/trivy" ]]; then
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "building trivy $version into $dir (about 20 minutes the first time)" >&2
  GOEXPERIMENT=jsonv2 GOBIN="$tmp" go install "github.com/aquasecurity/trivy/cmd/trivy@$version" >&2
  mv "$tmp/trivy" "$dir/trivy"
fi
echo "$dir/trivy"
