#!/usr/bin/env bash
# Sets up a machine for the workbook: Jupyter (JupyterLab, nbclient, nbconvert and Plotly's JupyterLab renderer,
# pinned in jupyter/requirements.txt) in the project's own virtual environment .venv/, and the npm packages
# (npm ci, which also compiles lib/). Nothing outside the project folder changes: the tslab kernel spec lives in
# jupyter/kernels and is found through JUPYTER_PATH. Running it again does nothing unless requirements.txt changed.
#   --runner-only   only .venv, no npm ci (`npm test`, after `npm ci`)
#   --browser       also Debian's chromium, for `npm run ui-test` (CI)
#   WORKBOOK_PYTHON the Python 3.9+ that creates .venv (default: python3 on the PATH, then /usr/bin/python3)
# Only where Python or its venv module is missing does it install Debian's python3 / python3-venv (apt-get,
# with sudo when not root).
set -euo pipefail
cd "$(dirname "$0")/.."

runner_only=""
browser=""
for arg in "$@"; do
  case "$arg" in
    --runner-only) runner_only=1 ;;
    --browser) browser=1 ;;
    *) echo "setup: unknown option '$arg' (use --runner-only, --browser)" >&2; exit 2 ;;
  esac
done

venv=".venv"
requirements="jupyter/requirements.txt"
stamp="$venv/.workbook-requirements"

say() { echo "setup: $*"; }

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: please install $* with your system's package manager, or set WORKBOOK_PYTHON to a Python 3.9+ with venv" >&2
    exit 1
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing $* from Debian's packages"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

python_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' >/dev/null 2>&1; }

find_python() {
  local candidate candidates=(python3 /usr/bin/python3)
  [ -n "${WORKBOOK_PYTHON:-}" ] && candidates=("$WORKBOOK_PYTHON")
  for candidate in "${candidates[@]}"; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

requirements_hash() { cksum < "$requirements" | cut -d' ' -f1; }

venv_ready() {
  [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(requirements_hash)" ] &&
    "$venv/bin/python" -c "import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in ('nbclient', 'nbconvert', 'nbformat', 'jupyterlab')) else 1)" >/dev/null 2>&1
}

make_venv() {
  local python
  if ! python=$(find_python); then
    if [ -n "${WORKBOOK_PYTHON:-}" ]; then
      echo "setup: WORKBOOK_PYTHON=$WORKBOOK_PYTHON is not a Python 3.9 or later" >&2
      exit 1
    fi
    apt_install python3 python3-venv
    python=$(find_python) || { echo "setup: no Python 3.9+ found after installing python3" >&2; exit 1; }
  fi
  if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv with $python ($("$python" --version 2>&1))"
    if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
      # Debian's and Ubuntu's Python splits ensurepip (which venv needs) into python3-venv.
      rm -rf "$venv"
      apt_install python3-venv
      "$python" -m venv "$venv"
    fi
  fi
  say "installing $requirements into $venv (pip)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
  requirements_hash > "$stamp"
}

venv_ready || make_venv
say "Jupyter in $venv: $("$venv/bin/python" -c "from importlib.metadata import version as v; print(', '.join(p + ' ' + v(p) for p in ('jupyterlab', 'nbclient', 'plotly')))")"

if [ -n "$browser" ] && ! command -v chromium >/dev/null 2>&1 && [ -z "${WORKBOOK_CHROMIUM:-}" ]; then
  apt_install chromium
fi

[ -n "$runner_only" ] && exit 0
say "npm ci"
npm ci --no-audit --no-fund
