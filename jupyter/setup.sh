#!/usr/bin/env bash
# Sets up a machine for the workbook: Jupyter (from Debian's packages, when missing) and the npm packages
# (npm ci, which also compiles lib/). Installs nothing into the user's home: the tslab kernel spec lives in
# jupyter/kernels and is found through JUPYTER_PATH.
#   --runner-only     only what the headless runner needs (nbconvert, nbclient), and no npm ci: `npm test`
#   WORKBOOK_NO_UI=1  skip the classic Notebook UI package (CI does not need it)
set -euo pipefail
cd "$(dirname "$0")/.."

runner_only=""
[ "${1:-}" = "--runner-only" ] && runner_only=1

python="${WORKBOOK_PYTHON:-/usr/bin/python3}"
packages=()
"$python" -c "import nbclient, nbconvert, nbformat" 2>/dev/null || packages+=(jupyter-nbconvert jupyter-client)
if [ -z "$runner_only" ] && [ -z "${WORKBOOK_NO_UI:-}" ] && ! command -v jupyter-notebook >/dev/null 2>&1; then
  packages+=(jupyter-notebook)
fi
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${packages[*]} from Debian's packages"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
  else
    echo "setup: please install Jupyter (nbconvert, nbclient; JupyterLab or Notebook for the UI): ${packages[*]}" >&2
    echo "       e.g. pip install jupyterlab nbconvert nbclient, then WORKBOOK_PYTHON=\$(which python3)" >&2
    exit 1
  fi
fi

[ -n "$runner_only" ] && exit 0
echo "setup: npm ci"
npm ci --no-audit --no-fund
