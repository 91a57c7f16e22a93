#!/usr/bin/env bash
# The peers' own environment (.venv-peers): Keras 3 on TensorFlow's CPU build and PyTorch's CPU build, pinned in
# peers/requirements.txt, for `npm run bench -- --peers` and `npm run parity`. Never part of npm ci or npm test.
# Does nothing when .venv-peers is ready and requirements.txt has not changed. WORKBOOK_PYTHON chooses the Python
# (3.10-3.12) that creates it (default: python3 on the PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=".venv-peers"
requirements="peers/requirements.txt"
stamp="$venv/.peers-requirements"
hash() { cksum < "$requirements" | cut -d' ' -f1; }
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(hash)" ]; then
  exit 0
fi
python="${WORKBOOK_PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 || { echo "peers: no $python: install Python 3.10-3.12, or set WORKBOOK_PYTHON" >&2; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
  echo "peers: creating $venv with $python ($("$python" --version 2>&1))"
  "$python" -m venv "$venv" || { rm -rf "$venv"; echo "peers: '$python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
fi
echo "peers: installing $requirements into $venv (pip; a few hundred MB the first time)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
hash > "$stamp"
"$venv/bin/python" -c "import tensorflow as tf, keras, torch; print(f'peers: keras {keras.__version__}, tensorflow {tf.__version__}, torch {torch.__version__}')"
