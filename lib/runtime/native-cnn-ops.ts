/**
 * The CNN's max pooling (forward and gradient), its filter-and-bias gradient and its ReLU gradient on native
 * TensorFlow ('tensorflow'). TensorFlow's eager mode, which tfjs-node runs, hands only Conv2D (and its gradients),
 * MatMul and BatchMatMul to oneDNN; every other op runs its Eigen kernel. A Keras graph gets oneDNN for every op that
 * has one (TensorFlow's layout pass). Measured on the CNN's largest layer (batch 64, 32 x 32 x 32, 2-core Zen 4,
 * 2026-12-07):
 *
 *   - MaxPoolGrad: Eigen's kernel 12.3 ms; oneDNN's max pooling (again, for the workspace that oneDNN's gradient
 *     reads: which input held each maximum) and its gradient 1.4 ms together. oneDNN's kernels are registered under
 *     the label 'MklNameChangeOp' (the op attribute _kernel), in x86 builds only. Where TensorFlow has none, where
 *     TF_ENABLE_ONEDNN_OPTS=0 asks TensorFlow not to use them, or where the call does not fit, tfjs-node's own kernel
 *     runs.
 *   - the ReLU's gradient: tfjs's dy * cast(step(x)) (five ops) 1.4 ms; TensorFlow's ReluGrad (one op) 0.4 ms.
 *   - MaxPool itself, for the same reason: the CNN's three poolings took 2.1 ms of a prediction step through Eigen,
 *     1.4 ms through oneDNN in Keras's graph (TensorFlow's profiler, 2026-12-07).
 *   - the filter's gradient with the bias's: see nativeConv2DBackpropFilterWithBias.
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
export const nativeCnnOpCalls = new Map<string, number>();

function count(route: string): void {
  nativeCnnOpCalls.set(route, (nativeCnnOpCalls.get(route) ?? 0) + 1);
}

function floatType(backend: NativeBackendLike): OpAttr {
  return { name: "T", type: backend.binding.TF_ATTR_TYPE, value: backend.binding.TF_FLOAT };
}

export const MAX_POOL = "MaxPool";
export const MAX_POOL_GRAD = "MaxPoolGrad";

/** tfjs-node's MaxPool and MaxPoolGrad, kept for the calls the oneDNN route leaves to them. */
const stockKernels = new Map<string, KernelConfig["kernelFunc"]>();

/** TF_ENABLE_ONEDNN_OPTS=0 is TensorFlow's own switch to keep to its Eigen kernels; these routes follow it. */
export const oneDnnAllowed = process.env["TF_ENABLE_ONEDNN_OPTS"] !== "0";
/** The groups of oneDNN routes that failed here (a TensorFlow without oneDNN's kernels): their fallbacks from then on. */
const oneDnnFailed = new Set<"pooling" | "filter-with-bias">();

/**
 * `run` (calls of oneDNN's ops) where oneDNN may run and its group has not failed here: its result, with `route`
 * counted, or undefined, and the caller's fallback runs. A failure turns the group off for good.
 */
function viaOneDnn<T>(group: "pooling" | "filter-with-bias", route: string, run: () => T): T | undefined {
  if (!oneDnnAllowed || oneDnnFailed.has(group)) return undefined;
  try {
    const result = run();
    count(route);
    return result;
  } catch {
    oneDnnFailed.add(group);
    return undefined;
  }
}

/** The label (op attribute `_kernel`) under which oneDNN's kernels are registered (what TensorFlow's layout pass sets). */
export const ONEDNN_KERNEL_LABEL = "MklNameChangeOp";

function oneDnnKernelLabel(backend: NativeBackendLike): OpAttr {
  return { name: "_kernel", type: backend.binding.TF_ATTR_STRING, value: ONEDNN_KERNEL_LABEL };
}

/**
 * The attributes of oneDNN's max pooling for a tfjs MaxPool or MaxPoolGrad call, or undefined where the call does
 * not fit it (not float32 NHWC, a padding TensorFlow cannot express, a GPU).
 */
function oneDnnPoolAttrs({ attrs, backend }: KernelArgs, x: TensorInfo | undefined, workspace: boolean): OpAttr[] | undefined {
  if (backend.isUsingGpuDevice === true || x == null || x.dtype !== "float32" || x.shape.length !== 4) return undefined;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs?.["filterSize"] as number | [number, number],
    attrs?.["strides"] as number | [number, number],
    1,
    attrs?.["pad"] as "same" | "valid",
    attrs?.["dimRoundingMode"] as "floor" | "round" | "ceil" | undefined,
  );
  if (info.padInfo.type !== "SAME" && info.padInfo.type !== "VALID") return undefined;
  const { binding } = backend;
  return [
    floatType(backend),
    { name: "ksize", type: binding.TF_ATTR_INT, value: [1, info.filterHeight, info.filterWidth, 1] },
    { name: "strides", type: binding.TF_ATTR_INT, value: [1, info.strideHeight, info.strideWidth, 1] },
    { name: "padding", type: binding.TF_ATTR_STRING, value: info.padInfo.type },
    { name: "data_format", type: binding.TF_ATTR_STRING, value: "NHWC" },
    { name: "workspace_enabled", type: binding.TF_ATTR_BOOL, value: workspace },
    oneDnnKernelLabel(backend),
  ];
}

function stockKernel(kernelName: string, args: KernelArgs): Tensor | TensorInfo {
  const kernelFunc = stockKernels.get(kernelName);
  if (kernelFunc === undefined) throw new Error(`${kernelName}: tfjs-node's own kernel is not registered`);
  return kernelFunc(args as unknown as Parameters<KernelConfig["kernelFunc"]>[0]) as Tensor | TensorInfo;
}

/**
 * MaxPool through oneDNN where this TensorFlow has it (Keras's graph runs the same primitive: 1.4 ms per prediction
 * step of the CNN, where Eigen's MaxPool took 2.1), else tfjs-node's kernel. oneDNN's op also gives a workspace
 * (which input held each maximum); it is not asked for here, and its empty output is freed at once.
 */
export function nativeMaxPool(args: KernelArgs): Tensor | TensorInfo {
  const x = args.inputs["x"];
  const opAttrs = oneDnnPoolAttrs(args, x, false);
  const y =
    opAttrs &&
    viaOneDnn("pooling", "onednn_max_pool", () => {
      const [pooled, workspace] = args.backend.executeMultipleOutputs("_MklNativeMaxPool", opAttrs, [x!], 2);
      workspace!.dispose();
      return pooled!;
    });
  return y ?? stockKernel(MAX_POOL, args);
}

/** MaxPoolGrad through oneDNN where this TensorFlow has it, else tfjs-node's kernel (Eigen's MaxPoolGrad). */
export function nativeMaxPoolGrad(args: KernelArgs): Tensor | TensorInfo {
  const dy = args.inputs["dy"];
  const x = args.inputs["input"];
  const opAttrs = dy == null ? undefined : oneDnnPoolAttrs(args, x, true);
  const dx =
    opAttrs &&
    viaOneDnn("pooling", "onednn_max_pool_grad", () => {
      // oneDNN's gradient reads the workspace of a forward pass, so the pooling runs again here
      const pooled = args.backend.executeMultipleOutputs("_MklNativeMaxPool", opAttrs, [x!], 2);
      try {
        return args.backend.executeSingleOutput("_MklNativeMaxPoolGrad", opAttrs, [x!, pooled[0]!, dy!, pooled[1]!]);
      } finally {
        tf.dispose(pooled);
      }
    });
  return dx ?? stockKernel(MAX_POOL_GRAD, args);
}

export const CONV2D_BACKPROP_FILTER_WITH_BIAS = "Conv2DBackpropFilterWithBias";

/**
 * A convolution's filter gradient and its bias's gradient (the sum of dy over batch, rows and columns) in one pass
 * where oneDNN has it (_MklNativeConv2DBackpropFilterWithBias, what Keras's graph runs), else tfjs-node's
 * Conv2DBackpropFilter and a Sum: the separate Sums cost 4.5 ms of a CNN training step (TensorFlow's profiler,
 * 2026-12-07). Inputs x and dy, attributes as Conv2DBackpropFilter's; outputs [filter gradient, bias gradient].
 */
export function nativeConv2DBackpropFilterWithBias(args: KernelArgs): TensorInfo[] {
  const { inputs, attrs, backend } = args;
  const x = inputs["x"];
  const dy = inputs["dy"];
  if (x == null || dy == null) throw new Error(`${CONV2D_BACKPROP_FILTER_WITH_BIAS}: inputs x and dy expected`);
  const filterShape = attrs?.["filterShape"] as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    attrs?.["strides"] as number | [number, number],
    1,
    attrs?.["pad"] as "same" | "valid",
    attrs?.["dimRoundingMode"] as "floor" | "round" | "ceil" | undefined,
  );
  const fits =
    backend.isUsingGpuDevice !== true &&
    x.dtype === "float32" &&
    x.shape.length === 4 &&
    (attrs?.["dataFormat"] ?? "NHWC") === "NHWC" &&
    (info.padInfo.type === "SAME" || info.padInfo.type === "VALID");
  if (fits) {
    const { binding } = backend;
    const opAttrs: OpAttr[] = [
      floatType(backend),
      { name: "strides", type: binding.TF_ATTR_INT, value: [1, info.strideHeight, info.strideWidth, 1] },
      { name: "padding", type: binding.TF_ATTR_STRING, value: info.padInfo.type },
      { name: "data_format", type: binding.TF_ATTR_STRING, value: "NHWC" },
      { name: "use_cudnn_on_gpu", type: binding.TF_ATTR_BOOL, value: false },
      { name: "dilations", type: binding.TF_ATTR_INT, value: [1, 1, 1, 1] },
      oneDnnKernelLabel(backend),
    ];
    const grads = viaOneDnn("filter-with-bias", "onednn_conv_filter_with_bias", () => {
      const filterSizes = tf.tensor1d(filterShape, "int32");
      try {
        return backend.executeMultipleOutputs("_MklNativeConv2DBackpropFilterWithBias", opAttrs, [x, filterSizes, dy], 2);
      } finally {
        filterSizes.dispose();
      }
    });
    if (grads !== undefined) return grads;
  }
  const filter = tf.engine().runKernel("Conv2DBackpropFilter", { x: x as Tensor, dy: dy as Tensor }, attrs ?? {}) as Tensor;
  return [filter, tf.sum(dy as Tensor, [0, 1, 2])];
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
export const nativeCnnOpKernelConfigs: readonly KernelConfig[] = [
  { kernelName: MAX_POOL, backendName: BACKEND, kernelFunc: nativeMaxPool as unknown as KernelConfig["kernelFunc"] },
  { kernelName: MAX_POOL_GRAD, backendName: BACKEND, kernelFunc: nativeMaxPoolGrad as unknown as KernelConfig["kernelFunc"] },
  {
    kernelName: CONV2D_BACKPROP_FILTER_WITH_BIAS,
    backendName: BACKEND,
    kernelFunc: nativeConv2DBackpropFilterWithBias as unknown as KernelConfig["kernelFunc"],
  },
  { kernelName: RELU_GRAD, backendName: BACKEND, kernelFunc: nativeReluGrad as unknown as KernelConfig["kernelFunc"] },
];

/** Keeps tfjs-node's own MaxPool and MaxPoolGrad (before they are replaced) for the calls oneDNN leaves to them. */
export function keepStockKernel(kernelName: string, kernelFunc: KernelConfig["kernelFunc"]): void {
  if (kernelName === MAX_POOL || kernelName === MAX_POOL_GRAD) stockKernels.set(kernelName, kernelFunc);
}
