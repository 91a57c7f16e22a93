/**
 * Training kernels for @tensorflow/tfjs-backend-wasm 4.22.
 *
 * Stock wasm can run inference but not training of the workbook's models:
 *  - missing kernels: Conv2DBackpropFilter (Conv2D weight gradient) and
 *    UnsortedSegmentSum (Embedding/GatherV2 gradient);
 *  - slow paths hit by every training step: BatchMatMul / _FusedMatMul with a
 *    transpose flag (naive C++ loop), Conv2DBackpropInput and MaxPoolGrad (naive
 *    C++ loops), Unpack on a non-zero axis (one strided Slice per RNN time step)
 *    Reverse (naive; every backwards LSTM reverses along time) and Identity (copies
 *    the data, thousands of times per RNN training step), and Cast to the same dtype
 *    (a copy too, thousands of times in Multiply gradients); and per-time-step LSTM ops
 *    that the stock kernels run slowly: SplitV along the last axis (strided slices), Tanh
 *    (scalar std::tanh), and the ClipByValue gradient's GreaterEqual/LessEqual/LogicalAnd/
 *    Select with a scalar operand (generic broadcasting loops). The ClipByValue gradient
 *    itself (those four kernels and a ZerosLike) becomes one kernel on wasm
 *    (clip_by_value_grad.ts: a gradient registration, the only non-kernel change here);
 *    GatherV2 on axis 0 (the Embedding lookup: row copies instead of a strided loop), and
 *    Transpose with a permutation that moves no data (shared, not copied).
 * Two kernels are new: LstmSequence and its gradient LstmSequenceGrad run a whole LSTM direction (the
 * BiLSTM's per-step ops, ~34,000 kernel calls per training step, become a few hundred; runtime/fused-lstm.ts
 * routes tfjs-layers' Bidirectional(LSTM) through them).
 * `registerWasmTrainingKernels()` registers replacements for all of them; the stock
 * kernelFuncs that get replaced stay reachable (util.originalKernels) and are used
 * by the replacements for the cases they handle well.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import type { KernelConfig } from "@tensorflow/tfjs";
import { batchMatMulConfig } from "./batch_mat_mul";
import { castConfig } from "./cast";
import { clipByValueGradConfig, clipByValueGradientRegistered, registerClipByValueGradient } from "./clip_by_value_grad";
import { greaterEqualConfig, lessEqualConfig, logicalAndConfig, selectConfig } from "./compare";
import { conv2DBackpropFilterConfig } from "./conv2d_backprop_filter";
import { conv2DBackpropInputConfig } from "./conv2d_backprop_input";
import { fusedMatMulConfig } from "./fused_mat_mul";
import { gatherV2Config } from "./gather_v2";
import { identityConfig } from "./identity";
import { lstmSequenceConfig, lstmSequenceGradConfig } from "./lstm_sequence";
import { LSTM_SEQUENCE, registerLstmSequenceGradient } from "../lstm-sequence";
import { maxPoolGradConfig } from "./max_pool_grad";
import { reverseConfig } from "./reverse";
import { splitVConfig } from "./split_v";
import { tanhConfig } from "./tanh";
import { transposeConfig } from "./transpose";
import { unpackConfig } from "./unpack";
import { unsortedSegmentSumConfig } from "./unsorted_segment_sum";
import { isOurs, originalKernels } from "./util";

/** Kernels that stock tfjs-backend-wasm 4.22 lacks for training the workbook's models. */
export const MISSING_WASM_KERNELS = ["Conv2DBackpropFilter", "UnsortedSegmentSum"] as const;

/** Stock kernels that are replaced because they are slow for training. */
export const REPLACED_WASM_KERNELS = [
  "BatchMatMul",
  "_FusedMatMul",
  "Conv2DBackpropInput",
  "Unpack",
  "MaxPoolGrad",
  "Reverse",
  "Identity",
  "Cast",
  "SplitV",
  "Tanh",
  "GreaterEqual",
  "LessEqual",
  "LogicalAnd",
  "Select",
  "GatherV2",
  "Transpose",
] as const;

export const wasmTrainingKernelConfigs: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  unsortedSegmentSumConfig,
  batchMatMulConfig,
  fusedMatMulConfig,
  conv2DBackpropInputConfig,
  unpackConfig,
  maxPoolGradConfig,
  reverseConfig,
  identityConfig,
  castConfig,
  splitVConfig,
  tanhConfig,
  greaterEqualConfig,
  lessEqualConfig,
  logicalAndConfig,
  selectConfig,
  clipByValueGradConfig,
  gatherV2Config,
  transposeConfig,
  lstmSequenceConfig,
  lstmSequenceGradConfig,
];

/**
 * Registers the training kernels for the 'wasm' backend (idempotent). Can be called
 * before or after the wasm backend is initialised: replaced kernels keep the stock
 * setupFunc/disposeFunc, which the stock kernelFuncs we delegate to rely on.
 */
export function registerWasmTrainingKernels(): void {
  for (const config of wasmTrainingKernelConfigs) {
    const existing = tf.getKernel(config.kernelName, "wasm");
    if (existing != null && isOurs(existing.kernelFunc)) continue;
    const merged: KernelConfig = { ...config };
    if (existing != null) {
      originalKernels.set(config.kernelName, existing.kernelFunc);
      if (existing.setupFunc != null) merged.setupFunc = existing.setupFunc;
      if (existing.disposeFunc != null) merged.disposeFunc = existing.disposeFunc;
      tf.unregisterKernel(config.kernelName, "wasm");
    }
    tf.registerKernel(merged);
  }
  registerClipByValueGradient();
  registerLstmSequenceGradient();
}

/** True when every training kernel of this module is the registered 'wasm' kernel. */
export function wasmTrainingKernelsRegistered(): boolean {
  return (
    wasmTrainingKernelConfigs.every((c) => isOurs(tf.getKernel(c.kernelName, "wasm")?.kernelFunc)) &&
    clipByValueGradientRegistered() &&
    tf.getGradient(LSTM_SEQUENCE) != null
  );
}

export { originalKernels } from "./util";
