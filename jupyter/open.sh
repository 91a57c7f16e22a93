#!/usr/bin/env bash
# `npm run lab` (and its alias `npm run notebook`): opens the workbook in JupyterLab from the project's .venv
# (made by jupyter/setup.sh, which this runs first: it does nothing when .venv is ready), with the tslab kernel
# found through JUPYTER_PATH. The server's root is the project, so both notebooks/ and the executed copies in
# out/notebooks/ can be opened. JupyterLab prints the URL with its token.
#   npm run lab -- [--preset coursework|quick|smoke] [other JupyterLab options, e.g. --no-browser --port 8890]
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --preset)
      [ $# -ge 2 ] || { echo "lab: --preset needs a value (coursework, quick or smoke)" >&2; exit 1; }
      case "$2" in coursework|quick|smoke) ;; *) echo "lab: unknown preset '$2': use coursework, quick or smoke" >&2; exit 1 ;; esac
      export WORKBOOK_PRESET="$2"
      shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
bash jupyter/setup.sh --runner-only
export JUPYTER_PATH="$PWD/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
# Jupyter refuses to start as root unless told; the user who runs it as root has chosen to.
[ "$(id -u)" -eq 0 ] && args+=(--allow-root)
[ -d node_modules ] || { echo "lab: node_modules is missing: run 'npm ci' first (or 'npm start')" >&2; exit 1; }
npx tsc -p tsconfig.json
echo "lab: preset ${WORKBOOK_PRESET:-quick (the default)}; open notebooks/ to run the workbook, out/notebooks/ for the executed copies"
echo "lab: the kernel is 'TypeScript (tslab, workbook)'; JupyterLab prints the URL to open (with its token) below"
exec .venv/bin/jupyter-lab --notebook-dir=. ${args[@]+"${args[@]}"}
