#!/usr/bin/env bash
# Writes a Terraform CLI configuration that installs providers from a local filesystem mirror only, and prints
# the file's path on stdout:
#
#   export TF_CLI_CONFIG_FILE=$(bash scripts/terraform-cli-config.sh)
#
# The mirror is $TAPSTACK_PROVIDER_MIRROR when set, else the first directory found that holds
# registry.terraform.io/<namespace>/<type>/<version>/<os>_<arch>/terraform-provider-*. Any existing
# TF_CLI_CONFIG_FILE is ignored (it may name a file that does not exist); the file written here is
# ${TMPDIR:-/tmp}/tapstack-tf/terraformrc.
set -euo pipefail

die() { echo "terraform-cli-config: $*" >&2; exit 1; }

# is_mirror_root DIR: true when DIR holds registry.terraform.io with a provider in it (unpacked or packed layout).
is_mirror_root() {
  local d=$1
  [[ -d "$d/registry.terraform.io" ]] || return 1
  find "$d/registry.terraform.io" -mindepth 3 -maxdepth 5 -name 'terraform-provider-*' -print -quit 2>/dev/null | grep -q .
}

# search_under DIR DEPTH: prints the first mirror root at most DEPTH levels below DIR (DIR itself included).
search_under() {
  local base=$1 depth=$2 reg
  [[ -d "$base" ]] || return 1
  while IFS= read -r reg; do
    if is_mirror_root "$(dirname "$reg")"; then
      dirname "$reg"
      return 0
    fi
  done < <(find "$base" -maxdepth "$depth" -type d -name registry.terraform.io \
             -not -path '/proc/*' -not -path '/sys/*' 2>/dev/null | sort)
  return 1
}

find_mirror() {
  local d reg
  search_under /opt 3 && return 0
  for d in /usr/share/terraform/plugins /usr/local/share/terraform/plugins \
           "${HOME:-/root}/.terraform.d/plugins" "${HOME:-/root}/.local/share/terraform/plugins"; do
    if is_mirror_root "$d"; then echo "$d"; return 0; fi
  done
  # Last resort: a bounded search of the whole file system (a working directory's .terraform/providers is no
  # mirror).
  while IFS= read -r reg; do
    if is_mirror_root "$(dirname "$reg")"; then dirname "$reg"; return 0; fi
  done < <(timeout 60 find / -maxdepth 6 \( -path /proc -o -path /sys -o -path /dev \) -prune -o \
             -type d -name registry.terraform.io -not -path '*/.terraform/providers/*' -print 2>/dev/null | sort)
  return 1
}

if [[ -n "${TAPSTACK_PROVIDER_MIRROR:-}" ]]; then
  mirror=$TAPSTACK_PROVIDER_MIRROR
  is_mirror_root "$mirror" ||
    die "TAPSTACK_PROVIDER_MIRROR=$mirror is not a provider mirror (no registry.terraform.io/<ns>/<type>/<version>/<os_arch>/terraform-provider-* under it)"
else
  mirror=$(find_mirror) ||
    die "no Terraform provider filesystem mirror found (looked in /opt, /usr/share/terraform/plugins, /usr/local/share/terraform/plugins, ~/.terraform.d/plugins, ~/.local/share/terraform/plugins and / to depth 6); set TAPSTACK_PROVIDER_MIRROR to the directory that contains registry.terraform.io"
fi
mirror=$(cd "$mirror" && pwd -P)

dir="${TMPDIR:-/tmp}/tapstack-tf"
mkdir -p "$dir"
file="$dir/terraformrc"
tmp=$(mktemp "$dir/terraformrc.XXXXXX")
cat >"$tmp" <<CONF
# Written by tapstack scripts/terraform-cli-config.sh: providers come from a local mirror only.
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
CONF
mv -f "$tmp" "$file"
echo "$file"
