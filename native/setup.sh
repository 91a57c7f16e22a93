#!/usr/bin/env bash
# `npm run native`: native TensorFlow for the workbook, built against the TensorFlow that pip installs (opt-in, never
# part of npm ci or npm test). tfjs-node's own install downloads libtensorflow 2.9.1 from a server that is often out
# of reach (and that wants CUDA 11.2); instead this
#   1. installs TensorFlow into .venv-native (pinned: native/requirements-cpu.txt, or -gpu.txt where nvidia-smi
#      sees a GPU), whose libtensorflow_cc.so.2 exports the C API the addon calls, with its headers;
#   2. unpacks @tensorflow/tfjs-node (or -gpu) 4.22.0 from npm into .native/node_modules without running its install
#      script, with its run-time dependencies; it resolves the project's own @tensorflow/tfjs (one tfjs-core);
#   3. adds the workbook's own kernels (native/workbook_kernels.cc) and builds the addon with node-gyp against those
#      headers and libraries;
#   4. loads it and runs a matMul.
# runtime/backend.ts then finds it (.native/node_modules) and the workbook runs on it.
#   --cpu    the CPU build even where there is a GPU
#   --undo   remove .native and .venv-native: back to WebAssembly
#   WORKBOOK_PYTHON  the Python (3.10-3.13) that creates .venv-native (default: python3 on the PATH)
# Needs a C++ compiler and make (on Debian/Ubuntu: apt-get install g++ make).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=".venv-native"
prefix=".native"
tfjs_version="4.22.0"
flavor=""
for arg in "$@"; do
  case "$arg" in
    --undo)
      rm -rf "$prefix" "$venv"
      echo "native: removed $prefix and $venv; the workbook runs on WebAssembly"
      exit 0
      ;;
    --cpu) flavor="cpu" ;;
    *) echo "native: unknown option '$arg' (use --cpu or --undo)" >&2; exit 2 ;;
  esac
done
say() { echo "native: $*"; }
fail() { echo "native: $*" >&2; exit 1; }

if [ -z "$flavor" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then flavor="gpu"; else flavor="cpu"; fi
fi
if [ "$flavor" = "gpu" ]; then package="@tensorflow/tfjs-node-gpu"; else package="@tensorflow/tfjs-node"; fi
requirements="native/requirements-$flavor.txt"
say "$flavor build: $package $tfjs_version against $(grep -v '^#' "$requirements")"

for tool in g++ make; do
  command -v "$tool" >/dev/null 2>&1 || fail "no $tool: the addon is compiled here (on Debian/Ubuntu: apt-get install g++ make)"
done

# 1. TensorFlow from pip.
stamp="$venv/.native-requirements"
hash() { cksum < "$requirements" | cut -d' ' -f1; }
if ! { [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(hash)" ]; }; then
  python="${WORKBOOK_PYTHON:-python3}"
  command -v "$python" >/dev/null 2>&1 || fail "no $python: install Python 3.10-3.13, or set WORKBOOK_PYTHON"
  if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv with $python ($("$python" --version 2>&1))"
    "$python" -m venv "$venv" || { rm -rf "$venv"; fail "'$python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"; }
  fi
  say "installing $requirements into $venv (pip; about 600 MB for the CPU build, several GB with CUDA)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements"
  hash > "$stamp"
fi
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
tf_dir="$site/tensorflow"
tf_version=$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("tensorflow-cpu" if "'"$flavor"'" == "cpu" else "tensorflow"))')
[ -f "$tf_dir/libtensorflow_cc.so.2" ] || fail "$tf_dir has no libtensorflow_cc.so.2: this TensorFlow wheel does not carry the C API library"
[ -f "$tf_dir/include/tensorflow/c/eager/c_api.h" ] || fail "$tf_dir/include has no tensorflow/c/eager/c_api.h: this wheel does not carry the C API headers"
if command -v nm >/dev/null 2>&1; then
  # The C API functions the addon calls (binding/*.cc), each exported by one of the two libraries.
  missing=""
  exported=$(nm -D --defined-only "$tf_dir/libtensorflow_cc.so.2" "$tf_dir/libtensorflow_framework.so.2" 2>/dev/null | awk '{print $NF}' | sed 's/@.*//' | sort -u)
  for symbol in TF_NewStatus TF_SessionRun TF_LoadSessionFromSavedModel TF_NewTensor TFE_NewContext TFE_NewOp TFE_Execute TFE_TensorHandleResolve TFE_ContextListDevices; do
    grep -qx "$symbol" <<< "$exported" || missing="$missing $symbol"
  done
  [ -z "$missing" ] || fail "TensorFlow $tf_version does not export what the addon calls:$missing"
fi

# 2. tfjs-node's files and its run-time dependencies, without its install script (the libtensorflow download).
mkdir -p "$prefix"
cp native/package.json "$prefix/package.json"
say "npm install in $prefix: $(node -p "Object.entries(require('./native/package.json').dependencies).map(([k, v]) => k + ' ' + v).join(', ')")"
npm install --prefix "$prefix" --no-audit --no-fund --no-save --ignore-scripts --loglevel=error >/dev/null
addon_dir="$prefix/node_modules/$package"
rm -rf "$addon_dir" "$prefix/pack"
mkdir -p "$addon_dir" "$prefix/pack"
tarball=$(cd "$prefix/pack" && npm pack --silent "$package@$tfjs_version")
tar -xzf "$prefix/pack/$tarball" -C "$addon_dir" --strip-components=1
rm -rf "$prefix/pack"

# 3. The addon, against pip's TensorFlow, with the workbook's kernels added (native/workbook_kernels.cc, through
#    native/patch-addon.js): binding.gyp expects deps/include and deps/lib/libtensorflow{,_framework}.so.
node native/patch-addon.js "$addon_dir"
mkdir -p "$addon_dir/deps/lib"
ln -sfn "$(cd "$tf_dir" && pwd)/include" "$addon_dir/deps/include"
for lib in libtensorflow_cc.so.2 libtensorflow_framework.so.2; do ln -sf "$(cd "$tf_dir" && pwd)/$lib" "$addon_dir/deps/lib/$lib"; done
ln -sf libtensorflow_cc.so.2 "$addon_dir/deps/lib/libtensorflow.so"
ln -sf libtensorflow_framework.so.2 "$addon_dir/deps/lib/libtensorflow_framework.so"
gyp_args=(--module_name=tfjs_binding --module_path=./lib/napi-v8 --napi_build_version=8)
# Node's own headers where this Node has them (Debian's nodejs, the official tarballs); else node-gyp downloads them.
node_dir=$(dirname "$(dirname "$(command -v node)")")
[ -f "$node_dir/include/node/node_api.h" ] && gyp_args+=("--nodedir=$node_dir")
if [ "$flavor" = "gpu" ]; then
  # pip's CUDA libraries live in site-packages/nvidia/*/lib: where TensorFlow finds them when Python loads it.
  export LDFLAGS="${LDFLAGS:-} $(for d in "$site"/nvidia/*/lib; do printf -- '-Wl,-rpath,%s ' "$d"; done)"
fi
say "building the addon with node-gyp (a minute)"
(cd "$addon_dir" && node ../../node-gyp/bin/node-gyp.js rebuild "${gyp_args[@]}" --loglevel=error) > "$prefix/build.log" 2>&1 ||
  { tail -20 "$prefix/build.log" >&2; fail "the addon did not build; the whole log is $prefix/build.log"; }
mkdir -p "$addon_dir/lib/napi-v8"
cp "$addon_dir/build/Release/tfjs_binding.node" "$addon_dir/lib/napi-v8/tfjs_binding.node"

# 4. Load it as the workbook will, and compute.
node -e '
const tf = require("@tensorflow/tfjs");
require(process.argv[1]);
tf.setBackend("tensorflow").then(() => {
  const product = tf.tensor2d([[1, 2], [3, 4]]).matMul(tf.tensor2d([[5], [6]])).dataSync();
  if (product[0] !== 17 || product[1] !== 39) throw new Error(`matMul gave ${product}`);
  const b = tf.backend();
  console.log(`native: ok: TensorFlow ${b.binding.TF_Version} through ${process.argv[2]}, ${b.isUsingGpuDevice ? "on the GPU" : "on the CPU"}`);
});
' "./$addon_dir" "$package"
# 5. On a GPU machine, say why TensorFlow does not use the GPU, and what to do. (Untested: the project's GPU
#    machines have no package index, so this build has never run on one; see docs/backends.md.)
if [ "$flavor" = "gpu" ] && ! node -e '
const tf = require("@tensorflow/tfjs");
require(process.argv[1]);
tf.setBackend("tensorflow").then(() => process.exit(tf.backend().isUsingGpuDevice ? 0 : 1));
' "./$addon_dir" 2>/dev/null; then
  say "the addon runs, but TensorFlow does not use the GPU; what was found:"
  driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
  cuda=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | head -1)
  capability=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1)
  say "  driver ${driver:-none found} (CUDA ${cuda:-?} at most), compute capability ${capability:-?}"
  [ -z "$driver" ] && say "  no NVIDIA driver answers: install the driver (nvidia-smi must work), then run npm run native again"
  [ -n "$cuda" ] && [ "${cuda%%.*}" -lt 12 ] &&
    say "  TensorFlow $tf_version needs a driver for CUDA 12 or newer; this one supports CUDA $cuda: update the driver"
  # the architectures this TensorFlow build has kernels for, as it reports them (e.g. sm_60 ... compute_90)
  built=$("$venv/bin/python" -c 'import tensorflow as tf; print(" ".join(tf.sysconfig.get_build_info().get("cuda_compute_capabilities", [])))' 2>/dev/null | tail -1)
  newest=$(printf '%s\n' $built | sed -n 's/^[a-z_]*\([0-9]*\)\([0-9]\)$/\1.\2/p' | sort -n | tail -1)
  [ -n "$capability" ] && [ -n "$newest" ] && awk -v c="$capability" -v n="$newest" 'BEGIN { exit !(c + 0 > n + 0) }' &&
    say "  this GPU (compute capability $capability) is newer than the kernels TensorFlow $tf_version was built with ($built): it may need minutes of JIT compilation at first, or fail; use the CPU build (npm run native -- --cpu) if it does"
  say "  TensorFlow's own view (Python, same libraries):"
  "$venv/bin/python" -c 'import tensorflow as tf; print("native:   GPUs TensorFlow sees:", tf.config.list_physical_devices("GPU"))' 2>&1 |
    grep -v '^I0000\|^WARNING: All log' | tail -5 || true
  say "the workbook uses TensorFlow on the CPU meanwhile (its backend line says 'no GPU')"
fi
printf '{"package": "%s", "version": "%s", "tensorflow": "%s", "flavor": "%s"}\n' "$package" "$tfjs_version" "$tf_version" "$flavor" > "$prefix/native.json"
say "the workbook now runs on it (WORKBOOK_BACKEND=wasm to compare; npm run native -- --undo to remove it)"
