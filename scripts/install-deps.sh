#!/usr/bin/env bash
# Installs the Debian packages the tests need (the union of deps/apt/*.txt), when missing.
# As root it uses apt-get; otherwise it names what is missing and fails, never skips.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; else
    echo "error: these Debian packages are needed by the tests: ${missing[*]}" >&2
    echo "       run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}"
