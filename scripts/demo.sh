#!/usr/bin/env bash
# The demo from a fresh clone: installs what is missing (scripts/install-deps.sh), then runs
# examples/demo/main.ts (private servers on loopback, the three worked examples, live changes).
# Ctrl-C stops everything. Arguments go to the demo, e.g. --once or --examples dbus-notes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec node --import tsx examples/demo/main.ts "$@"
