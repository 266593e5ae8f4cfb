#!/usr/bin/env bash
# The contract suite: drives `boxoffice sandbox` with the providers' own client libraries
# (contract/requirements.txt, pinned) and fails when a fake does not answer as the real
# service does. Makes or refreshes a virtualenv in target/contract-venv, builds boxoffice
# unless BOXOFFICE_BIN names a binary, then runs every step. Extra arguments go to
# contract.py (e.g. --only emby, --report target/contract.json).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${CONTRACT_VENV:-target/contract-venv}
req=contract/requirements.txt
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$want" ]; then
  if ! python3 -m venv --clear "$venv"; then
    echo "contract: cannot make a virtualenv with $(command -v python3); install python3-venv" >&2
    exit 1
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  echo "$want" >"$venv/.requirements"
fi

bin=${BOXOFFICE_BIN:-}
if [ -z "$bin" ]; then
  cargo build -q -p boxoffice --locked
  bin=target/debug/boxoffice
fi
exec "$venv/bin/python" -B contract/contract.py "$bin" --log target/contract-sandbox.log "$@"
