#!/usr/bin/env bash
# Runs Triton's own Python HTTP client (tritonclient.http) against `fogline cloud --no-auth` serving a
# copy of digits-tiny: test/triton-client/check.py. Not part of `npm test` (it needs the client's
# source and Python packages that a fresh clone does not have); the vitest tests in
# cloud/src/http/triton-compat.test.ts and triton-load-config.test.ts reproduce its requests byte for byte.
#
# Needs: Debian's python3-numpy, python3-geventhttpclient, python3-rapidjson (apt-get install -y ...),
# and the client's source, `src/python/library` of github.com/triton-inference-server/client:
# TRITON_CLIENT_LIBRARY=<that folder>, or TRITON_CLIENT_REPO=<a git dir of that repository> (default
# /work/.mirror/triton-inference-server+client/repo, extracted with git archive into a temp dir).
# Usage: test/triton-client/run.sh   (exit status: that of check.py)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
PYTHON="${PYTHON:-/usr/bin/python3}"
work=$(mktemp -d)
cloud_pid=
cleanup() {
  if [ -n "$cloud_pid" ]; then kill "$cloud_pid" 2>/dev/null || true; wait "$cloud_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

library="${TRITON_CLIENT_LIBRARY:-}"
if [ -z "$library" ]; then
  repo="${TRITON_CLIENT_REPO:-/work/.mirror/triton-inference-server+client/repo}"
  if [ ! -d "$repo" ]; then
    echo "run.sh: no Triton client source: set TRITON_CLIENT_LIBRARY or TRITON_CLIENT_REPO" >&2
    exit 2
  fi
  git -C "$repo" archive HEAD src/python/library | tar -x -C "$work"
  library="$work/src/python/library"
  echo "tritonclient from $repo at $(git -C "$repo" rev-parse --short HEAD)"
fi
"$PYTHON" -c 'import numpy, geventhttpclient, rapidjson' || {
  echo "run.sh: install python3-numpy python3-geventhttpclient python3-rapidjson" >&2
  exit 2
}

mkdir -p "$work/models"
cp -r "$root/models/digits-tiny" "$work/models/"
port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
node "$root/cli/bin/fogline.js" cloud --no-auth --host 127.0.0.1 --http-port "$port" --mqtt-port 0 \
  --data-dir "$work/data" --models "$work/models" --workers 1 --intra-op-threads 1 \
  >"$work/cloud.out" 2>"$work/cloud.err" &
cloud_pid=$!
for _ in $(seq 1 150); do
  grep -q '"event":"ready"' "$work/cloud.out" 2>/dev/null && break
  if ! kill -0 "$cloud_pid" 2>/dev/null; then cat "$work/cloud.err" >&2; exit 1; fi
  sleep 0.2
done
echo "fogline cloud on 127.0.0.1:$port"
PYTHONPATH="$library" "$PYTHON" "$root/test/triton-client/check.py" "127.0.0.1:$port" digits-tiny
