#!/usr/bin/env bash
# Opens the workbook in JupyterLab when it is installed (pip), else in the classic Notebook (Debian's
# jupyter-notebook), with the project's tslab kernel found through JUPYTER_PATH. The server's root is the
# project, so both notebooks/ and the executed copies in out/notebooks/ can be opened.
#   npm run notebook -- [--preset coursework|quick|smoke] [other Jupyter options]
set -euo pipefail
cd "$(dirname "$0")/.."
export JUPYTER_PATH="$PWD/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --preset)
      [ $# -ge 2 ] || { echo "notebook: --preset needs a value (coursework, quick or smoke)" >&2; exit 1; }
      case "$2" in coursework|quick|smoke) ;; *) echo "notebook: unknown preset '$2': use coursework, quick or smoke" >&2; exit 1 ;; esac
      export WORKBOOK_PRESET="$2"
      shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
# Jupyter refuses to start as root unless told; the user who runs it as root has chosen to.
[ "$(id -u)" -eq 0 ] && args+=(--allow-root)
npx tsc -p tsconfig.json
echo "notebook: preset ${WORKBOOK_PRESET:-quick (the default)}; open notebooks/ to run the workbook, out/notebooks/ for the executed copies"
if command -v jupyter-lab >/dev/null 2>&1; then
  exec jupyter-lab --notebook-dir=. "${args[@]}"
fi
exec jupyter-notebook --notebook-dir=. "${args[@]}"
