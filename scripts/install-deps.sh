#!/usr/bin/env bash
# Installs what pubsync's tests and demo need and is missing: the Debian packages of the servers
# and clients (apt-get, as root; anyone else is told the exact command), then the npm dependencies
# (npm ci, when node_modules is missing or older than package-lock.json).
# Used by .ci/run (on a fresh machine, as root) and by scripts/demo.sh.
#
#   scripts/install-deps.sh [--no-npm]
set -euo pipefail
cd "$(dirname "$0")/.."

# prosody: XMPP server; slapd + ldap-utils: OpenLDAP and its clients; dbus: dbus-daemon and
# dbus-send; libglib2.0-bin: gdbus; libxml2-utils: xmllint (format validation); curl.
packages=(prosody slapd ldap-utils dbus libglib2.0-bin libxml2-utils curl)

with_npm=1
for arg in "$@"; do
  case "$arg" in
    --no-npm) with_npm=0 ;;
    *) echo "install-deps: unknown argument $arg (usage: scripts/install-deps.sh [--no-npm])" >&2; exit 2 ;;
  esac
done

say() { echo "install-deps: $*"; }

if ! command -v dpkg-query >/dev/null 2>&1; then
  say "no dpkg here: install the equivalents of these Debian packages yourself: ${packages[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]}. Install them as root, then run this again:" >&2
    echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "installing ${missing[*]}"
  apt-get update -qq
  # slapd asks debconf questions on install; noninteractive takes the defaults.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  # The packages start system-wide daemons; pubsync's tests and demo start private instances and
  # never use them, so stop the ones installed just now (a server that was there before is left alone).
  for svc in prosody slapd; do
    if [[ " ${missing[*]} " == *" $svc "* ]] && command -v service >/dev/null 2>&1; then
      service "$svc" stop >/dev/null 2>&1 || true
    fi
  done
fi

if ! command -v node >/dev/null 2>&1 || ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)'; then
  say "Node.js >= 20.10 is needed (found: $(node --version 2>/dev/null || echo none)); see https://nodejs.org/en/download" >&2
  exit 1
fi

if [ "$with_npm" -eq 1 ]; then
  # npm ci leaves node_modules/.package-lock.json behind: when it is newer than package-lock.json,
  # the dependencies are installed as locked.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing the npm dependencies (npm ci)"
    npm ci --no-audit --no-fund
  fi
fi
