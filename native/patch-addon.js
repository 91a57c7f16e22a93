// Adds the workbook's kernels (native/workbook_kernels.cc) to the unpacked @tensorflow/tfjs-node 4.22.0 before
// native/setup.sh builds its addon: the source file, its line in binding.gyp, the method's declaration in
// tfjs_backend.h and its exports, binding.workbookKernel(name, inputTensorIds, params) and
// binding.workbookFunction(name, graphDef, inputs, outputs), in tfjs_binding.cc.
// Idempotent; fails, naming the file, when tfjs-node's sources are not the ones this was written against.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const addon = process.argv[2];
if (!addon) throw new Error("usage: node native/patch-addon.js ADDON_DIR");
// Inserts `insert` before or after `anchor` in `file`, unless the file already has `insert`.
function patch(file, anchor, insert, where) {
  const full = path.join(addon, file);
  const text = fs.readFileSync(full, "utf8");
  if (text.includes(insert)) return;
  const at = text.indexOf(anchor);
  if (at < 0) throw new Error(`native: ${full} has no '${anchor.trim()}': not the tfjs-node sources native/patch-addon.js knows`);
  const cut = where === "before" ? at : at + anchor.length;
  fs.writeFileSync(full, text.slice(0, cut) + insert + text.slice(cut));
}

fs.copyFileSync(path.join(__dirname, "workbook_kernels.cc"), path.join(addon, "binding", "workbook_kernels.cc"));
patch("binding.gyp", "'binding/tfjs_binding.cc'", ",\n      'binding/workbook_kernels.cc'", "after");
// Vectorised for this machine's CPU: the addon is built where it runs (Eigen's tanh and logistic in the LSTM kernels).
patch("binding.gyp", "'target_name' : 'tfjs_binding',", "\n    'cflags_cc' : [ '-O3', '-march=native', '-fno-math-errno' ],", "after");
patch(
  "binding/tfjs_backend.h",
  " private:\n  TFJSBackend(napi_env env);",
  "  // The workbook's kernels (binding/workbook_kernels.cc): name, input tensor IDs, numeric params.\n" +
    "  napi_value ExecuteWorkbookKernel(napi_env env, napi_value name_value, napi_value input_ids_value,\n" +
    "                                  napi_value params_value);  // workbookKernel\n\n",
  "before",
);
patch(
  "binding/tfjs_backend.h",
  " private:\n  TFJSBackend(napi_env env);",
  "  // A TensorFlow function from a serialized GraphDef (binding/workbook_kernels.cc), called by name via executeOp.\n" +
    "  napi_value AddWorkbookFunction(napi_env env, napi_value name_value, napi_value graph_value, napi_value inputs_value,\n" +
    "                                 napi_value outputs_value);  // workbookFunction\n\n",
  "before",
);
// A N-API entry point `fn` for binding.`jsName`: checks its arguments (`checks`: one per argument, STRING, ARRAY or
// null for none) and calls TFJSBackend::`method` with them.
function entryPoint(fn, jsName, method, checks) {
  const n = checks.length;
  const ensured = checks.map((check, i) => (check ? `  ENSURE_VALUE_IS_${check}_RETVAL(env, args[${i}], nullptr);\n` : "")).join("");
  return `static napi_value ${fn}(napi_env env, napi_callback_info info) {
  size_t argc = ${n};
  napi_value args[${n}];
  napi_value js_this;
  napi_status nstatus = napi_get_cb_info(env, info, &argc, args, &js_this, nullptr);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  if (argc < ${n}) {
    NAPI_THROW_ERROR(env, "${jsName}() takes ${n} args, got %zu", argc);
    return nullptr;
  }
${ensured}  TFJSBackend *const backend = GetTFJSBackend(env);
  if (!backend) return nullptr;
  return backend->${method}(env, ${checks.map((_, i) => `args[${i}]`).join(", ")});
}

`;
}
patch("binding/tfjs_binding.cc", "static napi_value IsUsingGPUDevice(", entryPoint("WorkbookKernel", "workbookKernel", "ExecuteWorkbookKernel", ["STRING", "ARRAY", "ARRAY"]), "before");
patch(
  "binding/tfjs_binding.cc",
  "static napi_value IsUsingGPUDevice(",
  entryPoint("WorkbookFunction", "workbookFunction", "AddWorkbookFunction", ["STRING", null, "ARRAY", "ARRAY"]),
  "before",
);
const binding = path.join(addon, "binding", "tfjs_binding.cc");
const text = fs.readFileSync(binding, "utf8");
const entries = [
  '      {"workbookKernel", nullptr, WorkbookKernel, nullptr, nullptr, nullptr, napi_default, nullptr},\n',
  '      {"workbookFunction", nullptr, WorkbookFunction, nullptr, nullptr, nullptr, napi_default, nullptr},\n',
].filter((entry) => !text.includes(entry));
if (entries.length > 0) {
  const anchor = '      {"executeOp", nullptr, ExecuteOp, nullptr, nullptr, nullptr, napi_default,\n       nullptr},\n';
  if (!text.includes(anchor)) throw new Error(`native: ${binding} has no executeOp export entry: not the tfjs-node sources native/patch-addon.js knows`);
  fs.writeFileSync(binding, text.replace(anchor, anchor + entries.join("")));
}
console.log("native: added the workbook's kernels (native/workbook_kernels.cc) to the addon");
