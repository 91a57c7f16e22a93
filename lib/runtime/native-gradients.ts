/**
 * Cheaper gradients of the CNN's pooling and ReLU layers on native TensorFlow ('tensorflow'). TensorFlow's eager
 * mode, which tfjs-node runs, hands only Conv2D (and its gradients), MatMul and BatchMatMul to oneDNN; every other
 * op runs its Eigen kernel. A Keras graph gets oneDNN for every op that has one (TensorFlow's layout pass). Measured
 * on the CNN's largest layer (batch 64, 32 x 32 x 32, 2-core Zen 4, 2026-12-07):
 *
 *   - MaxPoolGrad: Eigen's kernel 12.3 ms; oneDNN's max pooling (again, for the workspace that oneDNN's gradient
 *     reads: which input held each maximum) and its gradient 1.4 ms together. oneDNN's kernels are registered under
 *     the label 'MklNameChangeOp' (the op attribute _kernel), in x86 builds only. Where TensorFlow has none, where
 *     TF_ENABLE_ONEDNN_OPTS=0 asks TensorFlow not to use them, or where the call does not fit, tfjs-node's own kernel
 *     runs.
 *   - the ReLU's gradient: tfjs's dy * cast(step(x)) (five ops) 1.4 ms; TensorFlow's ReluGrad (one op) 0.4 ms.
 */
import * as tf from "@tensorflow/tfjs";
import type { GradConfig, KernelConfig, NamedAttrMap, NamedTensorInfoMap, Tensor, TensorInfo } from "@tensorflow/tfjs";

const BACKEND = "tensorflow";

/** The parts of tfjs-node's NodeJSKernelBackend used here. */
interface NativeBackendLike {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_INT: number; TF_ATTR_STRING: number; TF_ATTR_BOOL: number; TF_FLOAT: number };
  executeSingleOutput(name: string, opAttrs: OpAttr[], inputs: TensorInfo[]): Tensor;
  executeMultipleOutputs(name: string, opAttrs: OpAttr[], inputs: TensorInfo[], numOutputs: number): Tensor[];
  isUsingGpuDevice?: boolean;
}

interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

interface KernelArgs {
  inputs: NamedTensorInfoMap;
  attrs?: NamedAttrMap;
  backend: NativeBackendLike;
}

/** How many times each route of this module ran in this process (what a test reads to see the route taken). */
export const nativeGradientCalls = new Map<string, number>();

function count(route: string): void {
  nativeGradientCalls.set(route, (nativeGradientCalls.get(route) ?? 0) + 1);
}

function floatType(backend: NativeBackendLike): OpAttr {
  return { name: "T", type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_FLOAT };
}

export const MAX_POOL_GRAD = "MaxPoolGrad";

/** tfjs-node's MaxPoolGrad, kept for the calls the oneDNN route leaves to it. */
let stockMaxPoolGrad: KernelConfig["kernelFunc"] | undefined;
/** False once oneDNN's pooling failed here (a TensorFlow without it): tfjs-node's kernel from then on. */
let oneDnnPooling = process.env["TF_ENABLE_ONEDNN_OPTS"] !== "0";

/** MaxPoolGrad through oneDNN where this TensorFlow has it, else tfjs-node's kernel (Eigen's MaxPoolGrad). */
export function nativeMaxPoolGrad(args: KernelArgs): Tensor | TensorInfo {
  const { inputs, attrs, backend } = args;
  const dy = inputs["dy"];
  const x = inputs["input"];
  if (oneDnnPooling && backend.isUsingGpuDevice !== true && dy != null && x != null && x.dtype === "float32" && x.shape.length === 4) {
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      attrs?.["filterSize"] as number | [number, number],
      attrs?.["strides"] as number | [number, number],
      1,
      attrs?.["pad"] as "same" | "valid",
      attrs?.["dimRoundingMode"] as "floor" | "round" | "ceil" | undefined,
    );
    if (info.padInfo.type === "SAME" || info.padInfo.type === "VALID") {
      const { binding } = backend;
      const opAttrs: OpAttr[] = [
        floatType(backend),
        { name: "ksize", type: binding.TF_ATTR_INT, value: [1, info.filterHeight, info.filterWidth, 1] },
        { name: "strides", type: binding.TF_ATTR_INT, value: [1, info.strideHeight, info.strideWidth, 1] },
        { name: "padding", type: binding.TF_ATTR_STRING, value: info.padInfo.type },
        { name: "data_format", type: binding.TF_ATTR_STRING, value: "NHWC" },
        { name: "workspace_enabled", type: binding.TF_ATTR_BOOL, value: true },
        { name: "_kernel", type: binding.TF_ATTR_STRING, value: "MklNameChangeOp" },
      ];
      let pooled: Tensor[] | undefined;
      try {
        pooled = backend.executeMultipleOutputs("_MklNativeMaxPool", opAttrs, [x], 2);
        const dx = backend.executeSingleOutput("_MklNativeMaxPoolGrad", opAttrs, [x, pooled[0]!, dy, pooled[1]!]);
        count("onednn_max_pool_grad");
        return dx;
      } catch {
        oneDnnPooling = false;
      } finally {
        if (pooled !== undefined) tf.dispose(pooled);
      }
    }
  }
  if (stockMaxPoolGrad === undefined) throw new Error(`${MAX_POOL_GRAD}: tfjs-node's own kernel is not registered`);
  return stockMaxPoolGrad(args as unknown as Parameters<KernelConfig["kernelFunc"]>[0]) as Tensor | TensorInfo;
}

export const RELU_GRAD = "ReluGrad";

/** TensorFlow's ReluGrad: dy where x > 0, else 0. */
export function nativeReluGrad({ inputs, backend }: KernelArgs): Tensor {
  const dy = inputs["dy"];
  const x = inputs["x"];
  if (dy == null || x == null) throw new Error(`${RELU_GRAD}: inputs dy and x expected`);
  count("relu_grad");
  return backend.executeSingleOutput("ReluGrad", [floatType(backend)], [dy, x]);
}

/**
 * The Relu gradient for every backend: ReluGrad where the active backend has it (native), else tfjs's own formula,
 * dy * cast(step(x)). The two differ only where x is NaN (ReluGrad gives 0, the formula NaN).
 */
export const reluGradient: GradConfig = {
  kernelName: "Relu",
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => {
    const [x] = saved as [Tensor];
    const grad = dy as Tensor;
    return {
      x: () =>
        x.dtype === "float32" && tf.getKernel(RELU_GRAD, tf.getBackend()) != null
          ? (tf.engine().runKernel(RELU_GRAD, { dy: grad, x }) as Tensor)
          : tf.mul(grad, tf.cast(tf.step(x), "float32")),
    };
  },
};

/** The kernels of this module, each replacing tfjs-node's kernel of its name where tfjs-node has one. */
export const nativeGradientKernelConfigs: readonly KernelConfig[] = [
  { kernelName: MAX_POOL_GRAD, backendName: BACKEND, kernelFunc: nativeMaxPoolGrad as unknown as KernelConfig["kernelFunc"] },
  { kernelName: RELU_GRAD, backendName: BACKEND, kernelFunc: nativeReluGrad as unknown as KernelConfig["kernelFunc"] },
];

/** Keeps tfjs-node's own MaxPoolGrad (before it is replaced) for the calls oneDNN leaves to it. */
export function keepStockKernel(kernelName: string, kernelFunc: KernelConfig["kernelFunc"]): void {
  if (kernelName === MAX_POOL_GRAD) stockMaxPoolGrad = kernelFunc;
}
