// The workbook's own kernels inside tfjs-node's addon: native/setup.sh copies this file into the unpacked
// @tensorflow/tfjs-node (binding/), adds it to binding.gyp, declares TFJSBackend::ExecuteWorkbookKernel in
// tfjs_backend.h and exports it as binding.workbookKernel(name, inputTensorIds, params) in tfjs_binding.cc.
//
// Why: every op the JavaScript side runs on native TensorFlow is a separate call through the addon with its own
// dispatch and its own pass over memory. A kernel here reads TensorFlow's buffers directly and does its whole
// job in one pass, on as many threads as the machine has cores.
//
//   lstm_forward_pair, lstm_backward_pair
//                  the two directions of a Bidirectional layer in one call: the inputs of two lstm_forward (or
//                  lstm_backward) calls one after the other, their outputs likewise (for the backward: dxw, dxw, dU,
//                  dU); the second direction runs on a thread of its own.
//   adam  inputs [w, m, v, g] (float32, one shape), params [alpha, beta1, beta2, epsilon];
//         outputs [w', m', v'] with Keras 3's update (keras/src/optimizers/adam.py):
//           m' = m + (g - m) (1 - beta1);  v' = v + (g^2 - v) (1 - beta2);
//           w' = w - alpha m' / (sqrt(v') + epsilon),  alpha = lr sqrt(1 - beta2^t) / (1 - beta1^t).
//         The inputs are never written: a tensor's buffer may be shared (a weight snapshot, a clone).
//   lstm_forward   LstmSequence (lib/runtime/lstm-sequence.ts): inputs [xw (T,B,4u), U (u,4u), mask (T,B), r (B,u)],
//                  outputs [h, c, gates, tanhC]. Per time step one TensorFlow MatMul ((h_{t-1} r) U, called from
//                  here, on TensorFlow's own threads) and the gates and cell update in one pass over the batch.
//   lstm_backward  LstmSequenceGrad: inputs [dh, U, mask, r, h, c, gates, tanhC], outputs [dxw, dU]. Per step one
//                  MatMul (dz_t U^T, with U^T laid out once: MatMul's transpose_b took twice the time); dU is one
//                  MatMul over all steps at the end.
//   Both follow the wasm kernels (lib/runtime/wasm-kernels/lstm_sequence.ts) statement for statement.
//   fused_conv2d   inputs [x (N,H,W,C), filter (kh,kw,C,F), bias (F)], params [stride_h, stride_w, valid (0: SAME,
//                  1: VALID), relu (0/1)]: the convolution with its bias and ReLU fused, as Grappler makes it for
//                  Keras: oneDNN's _MklNativeFusedConv2D, else TensorFlow's _FusedConv2D. tfjs-node cannot call
//                  either (their fused_ops attribute is a list of strings).
//   fused_matmul   inputs [a (1,M,K) or (M,K), b (1,K,N) or (K,N), bias (N)], params [relu (0/1)]: a Dense layer's
//                  relu(a b + bias) as Keras's graph runs it: oneDNN's _MklNativeFusedMatMul (inner product), else
//                  TensorFlow's _FusedMatMul; the output has a's rank.
//   dropout_mask   no inputs, params [rate, seed0, seed1, ...shape]: a float32 tensor of `shape` holding
//                  1 / (1 - rate) where a uniform draw u >= rate, else 0. u comes from a counter-based generator
//                  (splitmix64 of the seed and the element's index, 24 bits), so a seed gives the same mask on any
//                  number of threads.
//
// binding.workbookFunction(name, graphDef, inputs, outputs) (TFJSBackend::AddWorkbookFunction) registers a
// TensorFlow function with the eager context: `graphDef` a serialized GraphDef (Uint8Array), `inputs` and
// `outputs` its tensors as "node:index" (the inputs, its arguments in order, are Placeholders). The function is then
// one op, called by `name` through executeOp: TensorFlow's graph passes (Grappler, the oneDNN layout pass) run on it
// once, and each call runs every node in one executor, as Keras's tf.function does. `graphDef` null removes it.
// lib/runtime/graph-function.ts writes the graphs.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "Eigen/Core"
#include "tfjs_backend.h"
#include "utils.h"

namespace tfnodejs {

namespace {

struct WorkbookTensor {
  TF_Tensor *tensor = nullptr;
  ~WorkbookTensor() {
    if (tensor != nullptr) TF_DeleteTensor(tensor);
  }
};

// Runs f(begin, end) over [0, n) split between the machine's cores, on one thread below 256k elements: starting a
// thread costs more than it saves there (a 64k-element dropout mask took 0.18 ms on two threads, 0.04 on one).
template <typename F>
void ParallelFor(int64_t n, F f) {
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  const int64_t parts = n < (1 << 18) ? 1 : std::min<int64_t>(cores, 8);
  if (parts == 1) {
    f(0, n);
    return;
  }
  std::vector<std::thread> threads;
  const int64_t chunk = (n + parts - 1) / parts;
  for (int64_t p = 1; p < parts; p++) {
    const int64_t begin = p * chunk, end = std::min(n, begin + chunk);
    if (begin < end) threads.emplace_back([=] { f(begin, end); });
  }
  f(0, std::min(n, chunk));
  for (auto &t : threads) t.join();
}

// One range of Adam's update. The arguments are values and restrict pointers so that the loop vectorises: captured
// by reference in a lambda, every float is reloaded after each store (a store through float* may change it). Not
// inlined, as DropoutMaskRange below, so that the restrict pointers keep their meaning.
__attribute__((noinline)) void AdamRange(const float *__restrict w, const float *__restrict m, const float *__restrict v,
                                         const float *__restrict g, float *__restrict w_out, float *__restrict m_out,
                                         float *__restrict v_out, int64_t begin, int64_t end, float alpha,
                                         float one_minus_beta1, float one_minus_beta2, float epsilon) {
  for (int64_t i = begin; i < end; i++) {
    const float gi = g[i];
    const float mi = m[i] + (gi - m[i]) * one_minus_beta1;
    const float vi = v[i] + (gi * gi - v[i]) * one_minus_beta2;
    m_out[i] = mi;
    v_out[i] = vi;
    w_out[i] = w[i] - alpha * mi / (std::sqrt(vi) + epsilon);
  }
}

void Adam(const float *w, const float *m, const float *v, const float *g, float *w_out, float *m_out, float *v_out,
          int64_t n, float alpha, float beta1, float beta2, float epsilon) {
  const float one_minus_beta1 = 1.0f - beta1, one_minus_beta2 = 1.0f - beta2;
  ParallelFor(n, [=](int64_t begin, int64_t end) {
    AdamRange(w, m, v, g, w_out, m_out, v_out, begin, end, alpha, one_minus_beta1, one_minus_beta2, epsilon);
  });
}

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;

// Runs `op` (its inputs and attributes set; TFE_OpAddInput leaves failures in `status`) for its one output, and
// deletes it: the output's handle, or nullptr with `status` set.
TFE_TensorHandle *ExecuteOne(TFE_Op *op, TF_Status *status) {
  TFE_TensorHandle *out = nullptr;
  int num_outputs = 1;
  if (TF_GetCode(status) == TF_OK) TFE_Execute(op, &out, &num_outputs, status);
  TFE_DeleteOp(op);
  return TF_GetCode(status) == TF_OK ? out : nullptr;
}

// Whether TensorFlow may use oneDNN's kernels here: TF_ENABLE_ONEDNN_OPTS=0 is TensorFlow's own switch to keep to its
// Eigen kernels, and the workbook's oneDNN routes follow it.
bool OneDnnAllowed() {
  static const bool allowed = getenv("TF_ENABLE_ONEDNN_OPTS") == nullptr || std::string(getenv("TF_ENABLE_ONEDNN_OPTS")) != "0";
  return allowed;
}

// Runs oneDNN's op `onednn_name` where this TensorFlow has it, else TensorFlow's own `stock_name`, for its one
// output; `set_up(op)` adds the inputs and attributes both share (failures left in `status`). oneDNN's kernels are
// registered under the label MklNameChangeOp (what TensorFlow's own rewrites set). A TensorFlow without them (not an
// x86 build) never has them, so `onednn` (one flag per call site, set from OneDnnAllowed; atomic, since the two
// directions of an LSTM pair share one) turns false for good; any other refusal falls back for this call only.
template <typename SetUp>
TFE_TensorHandle *ExecuteOneDnnOrStock(TFE_Context *context, std::atomic<bool> &onednn, const char *onednn_name, const char *stock_name,
                                       SetUp set_up, TF_Status *status) {
  TFE_TensorHandle *out = nullptr;
  for (int attempt = onednn ? 0 : 1; attempt < 2 && out == nullptr; attempt++) {
    TF_SetStatus(status, TF_OK, "");
    TFE_Op *op = TFE_NewOp(context, attempt == 0 ? onednn_name : stock_name, status);
    if (TF_GetCode(status) != TF_OK) {
      if (attempt == 0) onednn = false;
      continue;
    }
    set_up(op);
    if (attempt == 0) TFE_OpSetAttrString(op, "_kernel", "MklNameChangeOp", 15);
    out = ExecuteOne(op, status);
    if (out == nullptr && attempt == 0 && TF_GetCode(status) == TF_NOT_FOUND) onednn = false;
  }
  return out;
}

// A float32 tensor of `dims`, uninitialised, owned by the caller (TF_DeleteTensor). Its memory comes from the
// allocator of TensorFlow's CPU device (TensorFlow's Empty op), which keeps freed blocks for reuse; TF_AllocateTensor
// maps fresh pages for every large tensor, and their first touch cost 3.7 ms on a 2M-element dropout mask where the
// mask's arithmetic takes 0.6 ms. Falls back to TF_AllocateTensor if the op fails.
TF_Tensor *NewFloatTensor(TFE_Context *context, std::vector<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  TF_AutoStatus status;
  std::vector<int32_t> shape(dims.begin(), dims.end());
  const int64_t rank = static_cast<int64_t>(shape.size());
  TF_Tensor *shape_tensor = TF_AllocateTensor(TF_INT32, &rank, 1, shape.size() * sizeof(int32_t));
  if (!shape.empty()) std::copy(shape.begin(), shape.end(), static_cast<int32_t *>(TF_TensorData(shape_tensor)));
  TFE_TensorHandle *shape_handle = TFE_NewTensorHandle(shape_tensor, status.status);
  TF_DeleteTensor(shape_tensor);
  TF_Tensor *result = nullptr;
  if (TF_GetCode(status.status) == TF_OK) {
    TFE_Op *op = TFE_NewOp(context, "Empty", status.status);
    if (TF_GetCode(status.status) == TF_OK) {
      TFE_OpAddInput(op, shape_handle, status.status);
      TFE_OpSetAttrType(op, "dtype", TF_FLOAT);
      TFE_OpSetAttrBool(op, "init", 0);
    }
    TFE_TensorHandle *out = op != nullptr ? ExecuteOne(op, status.status) : nullptr;
    if (out != nullptr) {
      result = TFE_TensorHandleResolve(out, status.status);  // shares the buffer (host memory)
      TFE_DeleteTensorHandle(out);
      if (TF_GetCode(status.status) != TF_OK) result = nullptr;
    }
    TFE_DeleteTensorHandle(shape_handle);
  }
  if (result != nullptr) return result;
  return TF_AllocateTensor(TF_FLOAT, dims.data(), static_cast<int>(dims.size()), static_cast<size_t>(n) * sizeof(float));
}

float *Data(TF_Tensor *t) { return static_cast<float *>(TF_TensorData(t)); }


// TensorFlow's Reshape of a float32 handle to `dims` (the data is shared): the new handle, or nullptr with `status` set.
TFE_TensorHandle *ReshapeHandle(TFE_Context *context, TFE_TensorHandle *x, const std::vector<int64_t> &dims, TF_Status *status) {
  const int64_t rank = static_cast<int64_t>(dims.size());
  TF_Tensor *shape = TF_AllocateTensor(TF_INT64, &rank, 1, dims.size() * sizeof(int64_t));
  std::copy(dims.begin(), dims.end(), static_cast<int64_t *>(TF_TensorData(shape)));
  TFE_TensorHandle *shape_handle = TFE_NewTensorHandle(shape, status);
  TF_DeleteTensor(shape);
  if (TF_GetCode(status) != TF_OK) return nullptr;
  TFE_Op *op = TFE_NewOp(context, "Reshape", status);
  TFE_TensorHandle *out = nullptr;
  if (TF_GetCode(status) == TF_OK) {
    TFE_OpAddInput(op, x, status);
    if (TF_GetCode(status) == TF_OK) TFE_OpAddInput(op, shape_handle, status);
    TFE_OpSetAttrType(op, "T", TF_FLOAT);
    TFE_OpSetAttrType(op, "Tshape", TF_INT64);
    out = ExecuteOne(op, status);
  }
  TFE_DeleteTensorHandle(shape_handle);
  return out;
}

// TensorFlow's MatMul of two handles: the product's handle (nullptr and `status` set on failure). Called by its
// oneDNN name where TensorFlow has it: eager MatMul reaches the same kernel, but only after TensorFlow's eager oneDNN
// rewrite has listed every registered kernel of the op, on every call (4% of a BiLSTM training step's CPU time,
// `perf`, on the thread that waits for the product).
TFE_TensorHandle *MatMulHandle(TFE_Context *context, TFE_TensorHandle *a, TFE_TensorHandle *b, bool transpose_a,
                               bool transpose_b, TF_Status *status) {
  static std::atomic<bool> onednn_matmul{OneDnnAllowed()};
  return ExecuteOneDnnOrStock(
      context, onednn_matmul, "_MklMatMul", "MatMul",
      [&](TFE_Op *op) {
        TFE_OpAddInput(op, a, status);
        if (TF_GetCode(status) == TF_OK) TFE_OpAddInput(op, b, status);
        TFE_OpSetAttrType(op, "T", TF_FLOAT);
        TFE_OpSetAttrBool(op, "transpose_a", transpose_a ? 1 : 0);
        TFE_OpSetAttrBool(op, "transpose_b", transpose_b ? 1 : 0);
      },
      status);
}

// The same product of a tensor we filled and a handle, resolved to a tensor the caller owns (nullptr on failure).
TF_Tensor *MatMul(TFE_Context *context, TF_Tensor *a, TFE_TensorHandle *b, bool transpose_b, TF_Status *status) {
  TFE_TensorHandle *a_handle = TFE_NewTensorHandle(a, status);  // holds its own reference to a's buffer
  if (TF_GetCode(status) != TF_OK) return nullptr;
  TFE_TensorHandle *out = MatMulHandle(context, a_handle, b, false, transpose_b, status);
  TFE_DeleteTensorHandle(a_handle);
  if (out == nullptr) return nullptr;
  TF_Tensor *result = TFE_TensorHandleResolve(out, status);
  TFE_DeleteTensorHandle(out);
  return TF_GetCode(status) == TF_OK ? result : nullptr;
}

// LstmSequence. Returns false with `status` set when a MatMul fails.
bool LstmForward(TFE_Context *context, const float *xw, TFE_TensorHandle *kernel_u, const float *mask, const float *r,
                 int64_t T, int64_t B, int64_t units, float *h, float *c, float *gates, float *tanh_c, TF_Status *status) {
  const int64_t G = 4 * units, BU = B * units;
  TF_Tensor *hd = NewFloatTensor(context, {B, units});
  std::vector<float> z(B * G);
  for (int64_t t = 0; t < T; t++) {
    const float *xs = xw + t * B * G;
    if (t > 0) {
      float *hdv = Data(hd);
      const float *prev = h + (t - 1) * BU;
      for (int64_t k = 0; k < BU; k++) hdv[k] = prev[k] * r[k];
      TF_Tensor *rec = MatMul(context, hd, kernel_u, false, status);
      if (rec == nullptr) break;
      const float *rv = Data(rec);
      for (int64_t k = 0; k < B * G; k++) z[k] = xs[k] + rv[k];
      TF_DeleteTensor(rec);
    } else {
      std::copy(xs, xs + B * G, z.begin());
    }
    float *gs = gates + t * B * G;
    for (int64_t b = 0; b < B; b++) {
      const int64_t row = b * G, out = t * BU + b * units;
      const bool keep = mask[t * B + b] != 0;
      ArrayMap(gs + row, units) = ArrayMap(z.data() + row, units).logistic();
      ArrayMap(gs + row + units, units) = ArrayMap(z.data() + row + units, units).logistic();
      ArrayMap(gs + row + 2 * units, units) = ArrayMap(z.data() + row + 2 * units, units).tanh();
      ArrayMap(gs + row + 3 * units, units) = ArrayMap(z.data() + row + 3 * units, units).logistic();
      for (int64_t j = 0; j < units; j++) {
        const float c_prev = t > 0 ? c[out - BU + j] : 0.0f;
        c[out + j] = keep ? gs[row + units + j] * c_prev + gs[row + j] * gs[row + 2 * units + j] : c_prev;
      }
      ArrayMap(tanh_c + out, units) = ArrayMap(c + out, units).tanh();
      for (int64_t j = 0; j < units; j++) {
        const float h_prev = t > 0 ? h[out - BU + j] : 0.0f;
        h[out + j] = keep ? gs[row + 3 * units + j] * tanh_c[out + j] : h_prev;
      }
    }
  }
  TF_DeleteTensor(hd);
  return TF_GetCode(status) == TF_OK;
}

// LstmSequenceGrad: fills dxw and returns dU's handle (nullptr with `status` set on failure).
TFE_TensorHandle *LstmBackward(TFE_Context *context, const float *dh, const float *u, const float *mask, const float *r,
                               const float *h, const float *c, const float *gates, const float *tanh_c,
                               int64_t T, int64_t B, int64_t units, float *dxw, TF_Status *status) {
  const int64_t G = 4 * units, BU = B * units;
  std::vector<float> dh_next(BU, 0.0f), dc_next(BU, 0.0f);
  TF_Tensor *dz = NewFloatTensor(context, {B, G});
  // U^T [4u, u], laid out once: MatMul with transpose_b took twice the time of the same product untransposed
  TF_Tensor *u_t = NewFloatTensor(context, {G, units});
  {
    float *ut = Data(u_t);
    for (int64_t i = 0; i < units; i++)
      for (int64_t g = 0; g < G; g++) ut[g * units + i] = u[i * G + g];
  }
  TFE_TensorHandle *u_t_handle = TFE_NewTensorHandle(u_t, status);
  TF_DeleteTensor(u_t);
  if (TF_GetCode(status) != TF_OK) {
    TF_DeleteTensor(dz);
    return nullptr;
  }
  for (int64_t t = T - 1; t >= 0; t--) {
    float *dxs = dxw + t * B * G;
    for (int64_t b = 0; b < B; b++) {
      const int64_t row = (t * B + b) * G, at = (t * B + b) * units;
      const bool keep = mask[t * B + b] != 0;
      for (int64_t j = 0; j < units; j++) {
        const int64_t k = b * units + j;
        const float d_h = dh[at + j] + dh_next[k];
        const float d_c = dc_next[k];
        float *dx = dxw + row;
        if (!keep) {
          dx[j] = dx[units + j] = dx[2 * units + j] = dx[3 * units + j] = 0.0f;
          dh_next[k] = d_h;
          dc_next[k] = d_c;
          continue;
        }
        const float i = gates[row + j], f = gates[row + units + j], g = gates[row + 2 * units + j],
                    o = gates[row + 3 * units + j];
        const float tc = tanh_c[at + j];
        const float c_prev = t > 0 ? c[at - BU + j] : 0.0f;
        const float d_cell = d_c + d_h * o * (1.0f - tc * tc);
        dx[j] = d_cell * g * i * (1.0f - i);
        dx[units + j] = d_cell * c_prev * f * (1.0f - f);
        dx[2 * units + j] = d_cell * i * (1.0f - g * g);
        dx[3 * units + j] = d_h * tc * o * (1.0f - o);
        dh_next[k] = 0.0f;  // the recurrent part is added below
        dc_next[k] = d_cell * f;
      }
    }
    if (t == 0) break;
    // dh_{t-1} += (dz_t U^T) r
    std::copy(dxs, dxs + B * G, Data(dz));
    TF_Tensor *rec = MatMul(context, dz, u_t_handle, false, status);
    if (rec == nullptr) break;
    const float *rv = Data(rec);
    for (int64_t k = 0; k < BU; k++) dh_next[k] += rv[k] * r[k];
    TF_DeleteTensor(rec);
  }
  TF_DeleteTensor(dz);
  TFE_DeleteTensorHandle(u_t_handle);
  if (TF_GetCode(status) != TF_OK) return nullptr;
  // dU = sum over t >= 1 of (h_{t-1} r)^T dz_t = HD^T DZ, HD [(T-1)B, u], DZ [(T-1)B, 4u]
  const int64_t n = std::max<int64_t>(T - 1, 1) * B;
  TF_Tensor *hd_all = NewFloatTensor(context, {n, units});
  TF_Tensor *dz_all = NewFloatTensor(context, {n, G});
  if (T > 1) {
    float *a = Data(hd_all);
    for (int64_t row = 0; row < n; row++) {
      const int64_t b = row % B;
      for (int64_t j = 0; j < units; j++) a[row * units + j] = h[row * units + j] * r[b * units + j];
    }
    std::copy(dxw + B * G, dxw + T * B * G, Data(dz_all));
  } else {
    std::fill(Data(hd_all), Data(hd_all) + n * units, 0.0f);  // no recurrence: dU = 0
    std::fill(Data(dz_all), Data(dz_all) + n * G, 0.0f);
  }
  TFE_TensorHandle *hd_handle = TFE_NewTensorHandle(hd_all, status);
  TFE_TensorHandle *dz_handle = TF_GetCode(status) == TF_OK ? TFE_NewTensorHandle(dz_all, status) : nullptr;
  TF_DeleteTensor(hd_all);
  TF_DeleteTensor(dz_all);
  TFE_TensorHandle *d_u = TF_GetCode(status) == TF_OK ? MatMulHandle(context, hd_handle, dz_handle, true, false, status) : nullptr;
  if (hd_handle != nullptr) TFE_DeleteTensorHandle(hd_handle);
  if (dz_handle != nullptr) TFE_DeleteTensorHandle(dz_handle);
  return d_u;
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// One range of a dropout mask (values and a restrict pointer, as AdamRange, so that the loop vectorises). Not inlined:
// inlined into its caller the loop lost the restrict and ran scalar (2.5 ns an element; vectorised: see PERFORMANCE).
__attribute__((noinline)) void DropoutMaskRange(float *__restrict out, int64_t begin, int64_t end, uint64_t key, uint32_t threshold, float scale) {
  for (int64_t i = begin; i < end; i++) {
    const uint32_t bits = static_cast<uint32_t>(SplitMix64(key ^ static_cast<uint64_t>(i)) >> 40);
    out[i] = bits >= threshold ? scale : 0.0f;
  }
}

void DropoutMask(float *out, int64_t n, float rate, uint64_t seed) {
  const float scale = 1.0f / (1.0f - rate);
  // keep where u = bits / 2^24 >= rate, i.e. bits >= ceil(rate 2^24)
  const uint32_t threshold = static_cast<uint32_t>(std::ceil(static_cast<double>(rate) * 16777216.0));
  const uint64_t key = SplitMix64(seed);
  ParallelFor(n, [=](int64_t begin, int64_t end) { DropoutMaskRange(out, begin, end, key, threshold, scale); });
}

}  // namespace

napi_value TFJSBackend::ExecuteWorkbookKernel(napi_env env, napi_value name_value, napi_value input_ids_value,
                                              napi_value params_value) {
  napi_status nstatus;
  std::string name;
  nstatus = GetStringParam(env, name_value, name);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);

  uint32_t num_inputs = 0;
  nstatus = napi_get_array_length(env, input_ids_value, &num_inputs);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  std::vector<WorkbookTensor> inputs(num_inputs);
  std::vector<int32_t> input_ids(num_inputs);
  TF_AutoStatus tf_status;
  for (uint32_t i = 0; i < num_inputs; i++) {
    napi_value id_value;
    nstatus = napi_get_element(env, input_ids_value, i, &id_value);
    ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
    int32_t id;
    nstatus = napi_get_value_int32(env, id_value, &id);
    ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
    input_ids[i] = id;
    auto entry = tfe_handle_map_.find(id);
    if (entry == tfe_handle_map_.end()) {
      NAPI_THROW_ERROR(env, "workbookKernel %s: input tensor %d is not referenced", name.c_str(), id);
      return nullptr;
    }
    if (TFE_TensorHandleDataType(entry->second) != TF_FLOAT) {
      NAPI_THROW_ERROR(env, "workbookKernel %s: input %u is not float32", name.c_str(), i);
      return nullptr;
    }
    // fused_conv2d and fused_matmul pass handles on to TensorFlow; resolving them to tensors would cost a copy of each.
    if (name != "fused_conv2d" && name != "fused_matmul") {
      inputs[i].tensor = TFE_TensorHandleResolve(entry->second, tf_status.status);
      ENSURE_TF_OK_RETVAL(env, tf_status, nullptr);
    }
  }

  uint32_t num_params = 0;
  nstatus = napi_get_array_length(env, params_value, &num_params);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  std::vector<double> params(num_params);
  for (uint32_t i = 0; i < num_params; i++) {
    napi_value p;
    nstatus = napi_get_element(env, params_value, i, &p);
    ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
    nstatus = napi_get_value_double(env, p, &params[i]);
    ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  }

  // Outputs of the shape of input `like`.
  auto allocate_like = [&](uint32_t like) {
    TF_Tensor *t = inputs[like].tensor;
    std::vector<int64_t> dims(TF_NumDims(t));
    for (size_t d = 0; d < dims.size(); d++) dims[d] = TF_Dim(t, static_cast<int>(d));
    return NewFloatTensor(tfe_context_, dims);
  };
  const auto data = [&](uint32_t i) { return static_cast<const float *>(TF_TensorData(inputs[i].tensor)); };

  std::vector<TF_Tensor *> outputs;
  std::vector<TFE_TensorHandle *> extra_handles;  // outputs TensorFlow made (after `outputs`)
  if (name == "adam") {
    if (num_inputs != 4 || num_params != 4) {
      NAPI_THROW_ERROR(env, "workbookKernel adam: 4 inputs and 4 params expected, got %u and %u", num_inputs, num_params);
      return nullptr;
    }
    const int64_t n = TF_TensorElementCount(inputs[0].tensor);
    for (uint32_t i = 1; i < 4; i++) {
      if (TF_TensorElementCount(inputs[i].tensor) != n) {
        NAPI_THROW_ERROR(env, "workbookKernel adam: input %u has %lld elements, not %lld", i,
                         static_cast<long long>(TF_TensorElementCount(inputs[i].tensor)), static_cast<long long>(n));
        return nullptr;
      }
    }
    for (uint32_t i = 0; i < 3; i++) outputs.push_back(allocate_like(0));
    Adam(data(0), data(1), data(2), data(3), static_cast<float *>(TF_TensorData(outputs[0])),
         static_cast<float *>(TF_TensorData(outputs[1])), static_cast<float *>(TF_TensorData(outputs[2])), n,
         static_cast<float>(params[0]), static_cast<float>(params[1]), static_cast<float>(params[2]),
         static_cast<float>(params[3]));
  } else if (name == "lstm_forward" || name == "lstm_backward" || name == "lstm_forward_pair" ||
             name == "lstm_backward_pair") {
    // One direction, or the two of a Bidirectional layer (_pair: the inputs of two single calls one after the other,
    // the outputs likewise), the second on a thread of its own, so that one direction's gate passes run while the
    // other's MatMul does.
    const bool forward = name == "lstm_forward" || name == "lstm_forward_pair";
    const uint32_t directions = name == "lstm_forward_pair" || name == "lstm_backward_pair" ? 2u : 1u;
    const uint32_t per = forward ? 4u : 8u;
    if (num_inputs != directions * per) {
      NAPI_THROW_ERROR(env, "workbookKernel %s: %u inputs expected, got %u", name.c_str(), directions * per, num_inputs);
      return nullptr;
    }
    int64_t T[2], B[2], units[2];
    TFE_TensorHandle *u_handles[2];
    for (uint32_t d = 0; d < directions; d++) {
      // xw or gates: [T, B, 4u]; U: [u, 4u]
      TF_Tensor *seq = inputs[d * per + (forward ? 0 : 6)].tensor;
      TF_Tensor *u_tensor = inputs[d * per + 1].tensor;
      if (TF_NumDims(seq) != 3 || TF_NumDims(u_tensor) != 2 || TF_Dim(seq, 2) != TF_Dim(u_tensor, 1) ||
          TF_Dim(u_tensor, 1) != 4 * TF_Dim(u_tensor, 0)) {
        NAPI_THROW_ERROR(env, "workbookKernel %s: direction %u's sequence and recurrent kernel do not match", name.c_str(), d);
        return nullptr;
      }
      T[d] = TF_Dim(seq, 0), B[d] = TF_Dim(seq, 1), units[d] = TF_Dim(u_tensor, 0);
      u_handles[d] = tfe_handle_map_.find(input_ids[d * per + 1])->second;
    }
    for (uint32_t d = 0; d < directions; d++) {
      if (forward) {
        for (int k = 0; k < 4; k++) outputs.push_back(NewFloatTensor(tfe_context_, {T[d], B[d], k == 2 ? 4 * units[d] : units[d]}));
      } else {
        outputs.push_back(NewFloatTensor(tfe_context_, {T[d], B[d], 4 * units[d]}));
      }
    }
    TF_Status *statuses[2] = {tf_status.status, directions == 2 ? TF_NewStatus() : nullptr};
    TFE_TensorHandle *d_u[2] = {nullptr, nullptr};
    auto run = [&](uint32_t d) {
      const uint32_t o = d * per;
      if (forward) {
        LstmForward(tfe_context_, data(o), u_handles[d], data(o + 2), data(o + 3), T[d], B[d], units[d], Data(outputs[4 * d]),
                    Data(outputs[4 * d + 1]), Data(outputs[4 * d + 2]), Data(outputs[4 * d + 3]), statuses[d]);
      } else {
        d_u[d] = LstmBackward(tfe_context_, data(o), data(o + 1), data(o + 2), data(o + 3), data(o + 4), data(o + 5),
                              data(o + 6), data(o + 7), T[d], B[d], units[d], Data(outputs[d]), statuses[d]);
      }
    };
    if (directions == 2) {
      std::thread second(run, 1u);
      run(0);
      second.join();
      if (TF_GetCode(statuses[1]) != TF_OK) TF_SetStatus(statuses[0], TF_GetCode(statuses[1]), TF_Message(statuses[1]));
      TF_DeleteStatus(statuses[1]);
    } else {
      run(0);
    }
    if (TF_GetCode(tf_status.status) != TF_OK) {
      for (TF_Tensor *t : outputs) TF_DeleteTensor(t);
      for (TFE_TensorHandle *h : d_u)
        if (h != nullptr) TFE_DeleteTensorHandle(h);
      NAPI_THROW_ERROR(env, "workbookKernel %s: %s", name.c_str(), TF_Message(tf_status.status));
      return nullptr;
    }
    if (!forward) extra_handles.insert(extra_handles.end(), d_u, d_u + directions);
  } else if (name == "fused_conv2d") {
    if (num_inputs != 3 || num_params != 4) {
      NAPI_THROW_ERROR(env, "workbookKernel fused_conv2d: 3 inputs and 4 params expected, got %u and %u", num_inputs, num_params);
      return nullptr;
    }
    // oneDNN's fused convolution where this TensorFlow has it, else TensorFlow's own _FusedConv2D. Eager mode
    // rewrites Conv2D (and its gradients, MatMul, BatchMatMul) to oneDNN's kernels but not _FusedConv2D, whose
    // Eigen kernel took 4.5 ms where oneDNN takes 0.9 (the CNN's first layer, batch 64); in a graph, TensorFlow's
    // layout pass makes the same substitution for Keras.
    static std::atomic<bool> onednn_fused{OneDnnAllowed()};
    TFE_TensorHandle *out = ExecuteOneDnnOrStock(
        tfe_context_, onednn_fused, "_MklNativeFusedConv2D", "_FusedConv2D",
        [&](TFE_Op *op) {
          for (uint32_t i = 0; i < 3 && TF_GetCode(tf_status.status) == TF_OK; i++)
            TFE_OpAddInput(op, tfe_handle_map_.find(input_ids[i])->second, tf_status.status);
          const int64_t strides[4] = {1, static_cast<int64_t>(params[0]), static_cast<int64_t>(params[1]), 1};
          const int64_t dilations[4] = {1, 1, 1, 1};
          const bool relu = params[3] != 0;
          const void *fused_ops[2] = {"BiasAdd", "Relu"};
          const size_t fused_lengths[2] = {7, 4};
          TFE_OpSetAttrType(op, "T", TF_FLOAT);
          TFE_OpSetAttrInt(op, "num_args", 1);
          const TF_DataType arg_types[1] = {TF_FLOAT};
          TFE_OpSetAttrTypeList(op, "TArgs", arg_types, 1);
          TFE_OpSetAttrIntList(op, "strides", strides, 4);
          TFE_OpSetAttrString(op, "padding", params[2] != 0 ? "VALID" : "SAME", params[2] != 0 ? 5 : 4);
          TFE_OpSetAttrIntList(op, "explicit_paddings", nullptr, 0);
          TFE_OpSetAttrString(op, "data_format", "NHWC", 4);
          TFE_OpSetAttrIntList(op, "dilations", dilations, 4);
          TFE_OpSetAttrStringList(op, "fused_ops", fused_ops, fused_lengths, relu ? 2 : 1);
        },
        tf_status.status);
    if (out == nullptr) {
      NAPI_THROW_ERROR(env, "workbookKernel fused_conv2d: %s", TF_Message(tf_status.status));
      return nullptr;
    }
    extra_handles.push_back(out);
  } else if (name == "fused_matmul") {
    if (num_inputs != 3 || num_params != 1) {
      NAPI_THROW_ERROR(env, "workbookKernel fused_matmul: 3 inputs and 1 param expected, got %u and %u", num_inputs, num_params);
      return nullptr;
    }
    // A Dense layer's relu(a b + bias) (or without the ReLU) as oneDNN's fused inner product, where a graph's layout
    // pass puts Keras's Dense layers; tfjs-node runs it as BatchMatMul, Add and Relu. a (1, M, K) or (M, K), b (1, K, N)
    // or (K, N), bias (N); the output has a's rank.
    TFE_TensorHandle *given[2] = {tfe_handle_map_.find(input_ids[0])->second, tfe_handle_map_.find(input_ids[1])->second};
    const int rank = TFE_TensorHandleNumDims(given[0], tf_status.status);
    TFE_TensorHandle *flat[2] = {given[0], given[1]};
    std::vector<TFE_TensorHandle *> owned;
    for (int i = 0; i < 2 && TF_GetCode(tf_status.status) == TF_OK; i++) {
      if (TFE_TensorHandleNumDims(given[i], tf_status.status) != 3) continue;
      flat[i] = ReshapeHandle(tfe_context_, given[i],
                              {TFE_TensorHandleDim(given[i], 1, tf_status.status), TFE_TensorHandleDim(given[i], 2, tf_status.status)},
                              tf_status.status);
      if (flat[i] != nullptr) owned.push_back(flat[i]);
    }
    static std::atomic<bool> onednn_matmul{OneDnnAllowed()};
    TFE_TensorHandle *product = nullptr;
    if (TF_GetCode(tf_status.status) == TF_OK) {
      product = ExecuteOneDnnOrStock(
          tfe_context_, onednn_matmul, "_MklNativeFusedMatMul", "_FusedMatMul",
          [&](TFE_Op *op) {
            TFE_OpAddInput(op, flat[0], tf_status.status);
            if (TF_GetCode(tf_status.status) == TF_OK) TFE_OpAddInput(op, flat[1], tf_status.status);
            if (TF_GetCode(tf_status.status) == TF_OK) TFE_OpAddInput(op, tfe_handle_map_.find(input_ids[2])->second, tf_status.status);
            const void *fused_ops[2] = {"BiasAdd", "Relu"};
            const size_t fused_lengths[2] = {7, 4};
            TFE_OpSetAttrType(op, "T", TF_FLOAT);
            TFE_OpSetAttrBool(op, "transpose_a", 0);
            TFE_OpSetAttrBool(op, "transpose_b", 0);
            TFE_OpSetAttrInt(op, "num_args", 1);
            TFE_OpSetAttrStringList(op, "fused_ops", fused_ops, fused_lengths, params[0] != 0 ? 2 : 1);
          },
          tf_status.status);
    }
    for (TFE_TensorHandle *h : owned) TFE_DeleteTensorHandle(h);
    TFE_TensorHandle *out = product;
    if (product != nullptr && rank == 3) {
      out = ReshapeHandle(tfe_context_, product,
                          {1, TFE_TensorHandleDim(product, 0, tf_status.status), TFE_TensorHandleDim(product, 1, tf_status.status)},
                          tf_status.status);
      TFE_DeleteTensorHandle(product);
    }
    if (out == nullptr) {
      NAPI_THROW_ERROR(env, "workbookKernel fused_matmul: %s", TF_Message(tf_status.status));
      return nullptr;
    }
    extra_handles.push_back(out);
  } else if (name == "dropout_mask") {
    if (num_inputs != 0 || num_params < 3 || !(params[0] >= 0 && params[0] < 1)) {
      NAPI_THROW_ERROR(env, "workbookKernel dropout_mask: no inputs and params [rate in [0, 1), seed0, seed1, ...shape]");
      return nullptr;
    }
    std::vector<int64_t> dims;
    int64_t n = 1;
    for (uint32_t i = 3; i < num_params; i++) {
      dims.push_back(static_cast<int64_t>(params[i]));
      n *= dims.back();
    }
    outputs.push_back(NewFloatTensor(tfe_context_, dims));
    const uint64_t seed = (static_cast<uint64_t>(static_cast<uint32_t>(params[1])) << 32) | static_cast<uint32_t>(params[2]);
    DropoutMask(Data(outputs[0]), n, static_cast<float>(params[0]), seed);
  } else {
    NAPI_THROW_ERROR(env, "workbookKernel: no kernel named '%s'", name.c_str());
    return nullptr;
  }

  napi_value result;
  nstatus = napi_create_array_with_length(env, outputs.size() + extra_handles.size(), &result);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  for (size_t i = 0; i < outputs.size(); i++) {
    TFE_TensorHandle *handle = TFE_NewTensorHandle(outputs[i], tf_status.status);
    TF_DeleteTensor(outputs[i]);  // the handle holds its own reference
    ENSURE_TF_OK_RETVAL(env, tf_status, nullptr);
    napi_value info = GenerateOutputTensorInfo(env, handle);
    if (info == nullptr) return nullptr;
    nstatus = napi_set_element(env, result, static_cast<uint32_t>(i), info);
    ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  }
  for (size_t i = 0; i < extra_handles.size(); i++) {
    napi_value info = GenerateOutputTensorInfo(env, extra_handles[i]);
    if (info == nullptr) return nullptr;
    nstatus = napi_set_element(env, result, static_cast<uint32_t>(outputs.size() + i), info);
    ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  }
  return result;
}

// binding.workbookFunction: see the top of this file.
napi_value TFJSBackend::AddWorkbookFunction(napi_env env, napi_value name_value, napi_value graph_value,
                                            napi_value inputs_value, napi_value outputs_value) {
  napi_status nstatus;
  std::string name;
  nstatus = GetStringParam(env, name_value, name);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  TF_AutoStatus tf_status;
  napi_valuetype graph_type;
  nstatus = napi_typeof(env, graph_value, &graph_type);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  if (graph_type == napi_null || graph_type == napi_undefined) {
    if (TFE_ContextHasFunction(tfe_context_, name.c_str())) TFE_ContextRemoveFunction(tfe_context_, name.c_str(), tf_status.status);
    ENSURE_TF_OK_RETVAL(env, tf_status, nullptr);
    return undefined;
  }
  bool is_typed = false;
  nstatus = napi_is_typedarray(env, graph_value, &is_typed);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  if (!is_typed) {
    NAPI_THROW_ERROR(env, "workbookFunction %s: the graph must be a Uint8Array (a serialized GraphDef)", name.c_str());
    return nullptr;
  }
  napi_typedarray_type array_type;
  size_t length = 0;
  void *data = nullptr;
  nstatus = napi_get_typedarray_info(env, graph_value, &array_type, &length, &data, nullptr, nullptr);
  ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
  if (array_type != napi_uint8_array) {
    NAPI_THROW_ERROR(env, "workbookFunction %s: the graph must be a Uint8Array (a serialized GraphDef)", name.c_str());
    return nullptr;
  }
  // "node:index" strings of `list_value` as TF_Outputs of `graph`.
  auto tensors_of = [&](napi_value list_value, std::vector<TF_Output> &out, TF_Graph *graph) -> bool {
    uint32_t count = 0;
    if (napi_get_array_length(env, list_value, &count) != napi_ok) return false;
    for (uint32_t i = 0; i < count; i++) {
      napi_value item;
      std::string text;
      if (napi_get_element(env, list_value, i, &item) != napi_ok || GetStringParam(env, item, text) != napi_ok) return false;
      const size_t colon = text.rfind(':');
      const std::string node = colon == std::string::npos ? text : text.substr(0, colon);
      const int index = colon == std::string::npos ? 0 : std::atoi(text.c_str() + colon + 1);
      TF_Operation *op = TF_GraphOperationByName(graph, node.c_str());
      if (op == nullptr || index < 0 || index >= TF_OperationNumOutputs(op)) {
        NAPI_THROW_ERROR(env, "workbookFunction %s: the graph has no tensor '%s'", name.c_str(), text.c_str());
        return false;
      }
      out.push_back(TF_Output{op, index});
    }
    return true;
  };
  TF_Buffer *buffer = TF_NewBufferFromString(data, length);
  TF_Graph *graph = TF_NewGraph();
  TF_ImportGraphDefOptions *options = TF_NewImportGraphDefOptions();
  TF_GraphImportGraphDef(graph, buffer, options, tf_status.status);
  TF_DeleteImportGraphDefOptions(options);
  TF_DeleteBuffer(buffer);
  std::vector<TF_Output> inputs, outputs;
  bool ok = TF_GetCode(tf_status.status) == TF_OK;
  if (!ok) {
    NAPI_THROW_ERROR(env, "workbookFunction %s: the graph was refused: %s", name.c_str(), TF_Message(tf_status.status));
  } else {
    ok = tensors_of(inputs_value, inputs, graph) && tensors_of(outputs_value, outputs, graph);
  }
  if (ok) {
    TF_Function *function = TF_GraphToFunction(graph, name.c_str(), 0, -1, nullptr, static_cast<int>(inputs.size()), inputs.data(),
                                               static_cast<int>(outputs.size()), outputs.data(), nullptr, nullptr, nullptr,
                                               tf_status.status);
    if (TF_GetCode(tf_status.status) == TF_OK) {
      TFE_ContextAddFunction(tfe_context_, function, tf_status.status);
      TF_DeleteFunction(function);
    }
    if (TF_GetCode(tf_status.status) != TF_OK) {
      NAPI_THROW_ERROR(env, "workbookFunction %s: %s", name.c_str(), TF_Message(tf_status.status));
      ok = false;
    }
  }
  TF_DeleteGraph(graph);
  return ok ? undefined : nullptr;
}

}  // namespace tfnodejs
