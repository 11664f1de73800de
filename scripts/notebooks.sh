#!/usr/bin/env bash
# npm run notebooks [-- NAME.ipynb ...]: execute the tslab notebooks headlessly, in place.
# Needs Debian's Jupyter (apt-get install -y --no-install-recommends jupyter-core jupyter-client
# python3-nbconvert python3-nbclient python3-ipykernel jupyter-nbconvert) and Chromium for the PNGs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d notebooks/node_modules/tslab ] || (cd notebooks && npm ci --no-audit --no-fund)
npm run --silent notebooks:bundle
# the kernel spec holds an absolute path: register it in this checkout every time
(cd notebooks && ./node_modules/.bin/tslab install --python=/usr/bin/python3 --binary="$PWD/node_modules/.bin/tslab" --prefix="$PWD/.jupyter" >/dev/null)
export JUPYTER_PATH="$PWD/notebooks/.jupyter/share/jupyter"
/usr/bin/python3 scripts/run-notebooks.py "$@"
