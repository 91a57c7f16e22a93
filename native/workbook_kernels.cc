// The workbook's own kernels inside tfjs-node's addon: native/setup.sh copies this file into the unpacked
// @tensorflow/tfjs-node (binding/), adds it to binding.gyp, declares TFJSBackend::ExecuteWorkbookKernel in
// tfjs_backend.h and exports it as binding.workbookKernel(name, inputTensorIds, params) in tfjs_binding.cc.
//
// Why: every op the JavaScript side runs on native TensorFlow is a separate call through the addon with its own
// dispatch and its own pass over memory. A kernel here reads TensorFlow's buffers directly and does its whole
// job in one pass, on as many threads as the machine has cores.
//
//   adam  inputs [w, m, v, g] (float32, one shape), params [alpha, beta1, beta2, epsilon];
//         outputs [w', m', v'] with Keras 3's update (keras/src/optimizers/adam.py):
//           m' = m + (g - m) (1 - beta1);  v' = v + (g^2 - v) (1 - beta2);
//           w' = w - alpha m' / (sqrt(v') + epsilon),  alpha = lr sqrt(1 - beta2^t) / (1 - beta1^t).
//         The inputs are never written: a tensor's buffer may be shared (a weight snapshot, a clone).
#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

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

// Runs f(begin, end) over [0, n) split between the machine's cores (one thread below 64k elements).
template <typename F>
void ParallelFor(int64_t n, F f) {
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  const int64_t parts = n < 65536 ? 1 : std::min<int64_t>(cores, 8);
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

void Adam(const float *w, const float *m, const float *v, const float *g, float *w_out, float *m_out, float *v_out,
          int64_t n, float alpha, float beta1, float beta2, float epsilon) {
  const float one_minus_beta1 = 1.0f - beta1, one_minus_beta2 = 1.0f - beta2;
  ParallelFor(n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float gi = g[i];
      const float mi = m[i] + (gi - m[i]) * one_minus_beta1;
      const float vi = v[i] + (gi * gi - v[i]) * one_minus_beta2;
      m_out[i] = mi;
      v_out[i] = vi;
      w_out[i] = w[i] - alpha * mi / (std::sqrt(vi) + epsilon);
    }
  });
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
  TF_AutoStatus tf_status;
  for (uint32_t i = 0; i < num_inputs; i++) {
    napi_value id_value;
    nstatus = napi_get_element(env, input_ids_value, i, &id_value);
    ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
    int32_t id;
    nstatus = napi_get_value_int32(env, id_value, &id);
    ENSURE_NAPI_OK_RETVAL(env, nstatus, nullptr);
    auto entry = tfe_handle_map_.find(id);
    if (entry == tfe_handle_map_.end()) {
      NAPI_THROW_ERROR(env, "workbookKernel %s: input tensor %d is not referenced", name.c_str(), id);
      return nullptr;
    }
    inputs[i].tensor = TFE_TensorHandleResolve(entry->second, tf_status.status);
    ENSURE_TF_OK_RETVAL(env, tf_status, nullptr);
    if (TF_TensorType(inputs[i].tensor) != TF_FLOAT) {
      NAPI_THROW_ERROR(env, "workbookKernel %s: input %u is not float32", name.c_str(), i);
      return nullptr;
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
    return TF_AllocateTensor(TF_FLOAT, dims.data(), static_cast<int>(dims.size()), TF_TensorByteSize(t));
  };
  const auto data = [&](uint32_t i) { return static_cast<const float *>(TF_TensorData(inputs[i].tensor)); };

  std::vector<TF_Tensor *> outputs;
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
  } else {
    NAPI_THROW_ERROR(env, "workbookKernel: no kernel named '%s'", name.c_str());
    return nullptr;
  }

  napi_value result;
  nstatus = napi_create_array_with_length(env, outputs.size(), &result);
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
  return result;
}

}  // namespace tfnodejs
