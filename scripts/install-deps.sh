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

# Debian starts and enables a system Kamailio when it installs the package, listening on port
# 5060 of every address: paybridge's own SIP port (make run) and the one `make cluster` uses. The
# tests and the demo run their own Kamailio with the repository's configuration, never the
# system one; so when this script has just installed kamailio, it stops and disables that
# service, and says so. (An existing Kamailio install is left alone.)
for p in "${missing[@]}"; do
  [ "$p" = kamailio ] || continue
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now kamailio.service >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/kamailio ]; then
    $SUDO /etc/init.d/kamailio stop >/dev/null 2>&1 || true
    $SUDO update-rc.d kamailio disable >/dev/null 2>&1 || true
  fi
  echo "install-deps: stopped and disabled the kamailio system service Debian started (it takes port 5060;"
  echo "              the tests and make cluster run their own Kamailio). To use it: systemctl enable --now kamailio"
done
