/**
 * A model's inference as one TensorFlow function on native TensorFlow: the ops of one eager call are recorded,
 * written as a GraphDef (./graph-def.ts), registered with TensorFlow's eager context by the addon
 * (binding.workbookFunction, native/workbook_kernels.cc), and every later call with the same shapes runs them as
 * one op, the way Keras runs a step as a tf.function.
 *
 * Why: tfjs-node runs each op as its own eager call, with TensorFlow's eager dispatch (about 50 us an op more than
 * in a graph), JavaScript between the calls, and a fresh output buffer for every element-wise op. In a function,
 * TensorFlow's graph passes run once (Grappler, the oneDNN layout pass that Keras gets) and one executor runs every
 * node (docs/PERFORMANCE.md, "Eager against graph").
 *
 * What is traced, and what refuses: the recording covers tfjs-node's executeOp, the tensors JavaScript uploads
 * during the call (written as constants) and the addon's fused_conv2d and fused_matmul (written as TensorFlow's
 * _FusedConv2D and _FusedMatMul). The addon's dropout masks become arguments of the function, drawn afresh before
 * each call in the order the eager call drew them (./fast-dropout.ts), so that a training step can be a function and
 * a seeded run draws the same masks either way. A call that reads a tensor's values in JavaScript, runs another
 * addon kernel, draws random numbers in JavaScript (a function would repeat them), uses a tensor from outside the
 * call that is not one of its arguments, or whose function TensorFlow refuses, is not traced: it runs eagerly, then
 * and from then on for that model and purpose, and `graphFunctionRefusal` says why.
 * The first function call is checked against the eager result, and refused where they differ beyond float32
 * rounding. Weights are arguments, read afresh every call, so training between calls is seen.
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "@tensorflow/tfjs";
import { dropoutMultiplier } from "./fast-dropout";
import { DT, encodeGraphDef, type AttrValue, type ConstTensor, type GraphNode } from "./graph-def";
import { ONEDNN_KERNEL_LABEL, oneDnnAllowed } from "./native-cnn-ops";

interface TensorMetadata {
  id: number;
  shape: number[];
  dtype: number;
}

interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

/** The parts of tfjs-node's addon (binding) used here. */
interface NativeBinding {
  TF_ATTR_STRING: number;
  TF_ATTR_INT: number;
  TF_ATTR_FLOAT: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_SHAPE: number;
  executeOp(name: string, attrs: OpAttr[], inputIds: number[], numOutputs: number): TensorMetadata[];
  createTensor(shape: number[], dtype: number, values: ArrayBufferView): number;
  tensorDataSync(id: number): unknown;
  deleteTensor(id: number): void;
  workbookKernel?: (name: string, inputIds: number[], params: number[]) => TensorMetadata[];
  workbookFunction?: (name: string, graphDef: Uint8Array | null, inputs: string[], outputs: string[]) => void;
}

/** The parts of tfjs-node's NodeJSKernelBackend used here. */
interface NativeBackend {
  binding: NativeBinding;
  getInputTensorIds(tensors: Tensor[]): number[];
  executeMultipleOutputs(name: string, opAttrs: OpAttr[], inputs: Tensor[], numOutputs: number): Tensor[];
  createOutputTensor(metadata: TensorMetadata): Tensor;
}

/** A dropout mask the eager call drew: the function takes a fresh one, in this place, at every call. */
interface DrawnMask {
  shape: number[];
  rate: number;
}

type Entry = { name: string; numOutputs: number; masks: DrawnMask[] } | { refused: string };

let enabled = process.env["WORKBOOK_GRAPH_FUNCTIONS"] !== "0";
/** The functions of each owner (a model), by purpose and argument shapes. */
const functions = new WeakMap<object, Map<string, Entry>>();
let nextFunction = 0;

/** How many calls ran as a function, or were traced, in this process. */
export const graphFunctionCalls = { function: 0, traced: 0 };

/**
 * Turns graph functions on or off (on by default where the addon has them; WORKBOOK_GRAPH_FUNCTIONS=0: off); returns
 * the setting it replaced, for the caller to restore.
 */
export function setGraphFunctions(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** The native backend when it can run graph functions, else undefined. */
function graphBackend(): NativeBackend | undefined {
  if (!enabled || tf.getBackend() !== "tensorflow") return undefined;
  const backend = tf.backend() as unknown as Partial<NativeBackend>;
  return typeof backend.binding?.workbookFunction === "function" ? (backend as NativeBackend) : undefined;
}

/** Why `owner`'s calls for `purpose` run op by op (their trace was refused), or undefined. */
export function graphFunctionRefusal(owner: object, purpose: string): string | undefined {
  const entry = functions.get(owner)?.get(purpose);
  return entry !== undefined && "refused" in entry ? entry.refused : undefined;
}

/** Whether calls take this route on the active backend now. */
export function graphFunctionsActive(): boolean {
  return graphBackend() !== undefined;
}

// TensorFlow removes a model's functions once the model is gone.
const registry = new FinalizationRegistry<{ binding: NativeBinding; name: string }>(({ binding, name }) => {
  try {
    binding.workbookFunction?.(name, null, [], []);
  } catch {
    // the context may be gone at exit
  }
});

const DTYPES: Record<string, number> = { float32: DT.float, int32: DT.int32, bool: DT.bool };

function signature(purpose: string, args: readonly Tensor[]): string {
  return `${purpose}|${args.map((t) => `${t.dtype}[${t.shape.join(",")}]`).join(";")}`;
}

/**
 * `run()` (the eager computation: a model's call on `args[0..]`, its weights among `args`) as one TensorFlow
 * function on native TensorFlow, built from its first call with these shapes (`owner` and `purpose` name it);
 * `run()` itself wherever the route does not apply: another backend, gradients being recorded, or a refused trace.
 * `args` are every tensor `run` reads that may change between calls (inputs, weights).
 */
export function callAsGraph(owner: object, purpose: string, args: readonly Tensor[], run: () => Tensor[]): Tensor[] {
  const backend = graphBackend();
  // under a gradient tape the eager ops must be recorded for it
  if (backend === undefined || (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn()) return run();
  let byKey = functions.get(owner);
  if (byKey === undefined) {
    byKey = new Map();
    functions.set(owner, byKey);
  }
  // a refusal holds for every shape: what refused (an addon kernel, a read in JavaScript) is the model's
  const key = signature(purpose, args);
  const entry = byKey.get(purpose) ?? byKey.get(key);
  if (entry !== undefined && "name" in entry) {
    graphFunctionCalls.function++;
    const masks = entry.masks.map((m) => dropoutMultiplier(m.shape, m.rate));
    try {
      return backend.executeMultipleOutputs(entry.name, [], [...args, ...masks], entry.numOutputs);
    } finally {
      tf.dispose(masks);
    }
  }
  if (entry !== undefined) return run();
  const traced = trace(backend, args, run);
  graphFunctionCalls.traced++;
  try {
    const made =
      traced.graph === undefined
        ? { refused: traced.refused ?? "nothing was recorded" }
        : register(backend, owner, traced.graph, [...args, ...traced.masks.map((m) => m.tensor)], traced.outputs, traced.masks);
    byKey.set("refused" in made ? purpose : key, made);
  } finally {
    tf.dispose(traced.masks.map((m) => m.tensor));
  }
  return traced.outputs;
}

/**
 * callAsGraph for a model's call on `inputs` (its data: posters, tokens, labels): the model's weights are arguments
 * too, read at every call, so that training between calls is seen. They are read only where the route applies.
 */
export function callModelAsGraph(model: tf.LayersModel, purpose: string, inputs: readonly Tensor[], run: () => Tensor[]): Tensor[] {
  if (!graphFunctionsActive()) return run();
  return callAsGraph(model, purpose, [...inputs, ...model.weights.map((w) => w.read())], run);
}

interface Traced {
  outputs: Tensor[];
  graph?: { nodes: GraphNode[]; inputs: string[]; outputs: string[] };
  refused?: string;
  /** The dropout masks the call drew, in order, each kept (for the first function call's check) until disposed. */
  masks: (DrawnMask & { tensor: Tensor })[];
}

/** Runs `run` eagerly while recording its ops; the graph of them, or why there is none. */
function trace(backend: NativeBackend, args: readonly Tensor[], run: () => Tensor[]): Traced {
  const real = backend.binding;
  const nodes: GraphNode[] = [];
  const refs = new Map<number, string>();
  const shapes = new Map<number, number[]>();
  let refused: string | undefined;
  const refuse = (why: string): void => {
    refused ??= why;
  };
  const argIds = backend.getInputTensorIds(args as Tensor[]);
  const inputs = args.map((t, i) => {
    const dtype = DTYPES[t.dtype];
    if (dtype === undefined) refuse(`argument ${i} is ${t.dtype}`);
    nodes.push({
      name: `arg${i}`,
      op: "Placeholder",
      inputs: [],
      attrs: { dtype: { type: dtype ?? DT.float }, shape: { shape: t.shape } },
    });
    if (!refs.has(argIds[i]!)) refs.set(argIds[i]!, `arg${i}:0`);
    shapes.set(argIds[i]!, t.shape);
    return `arg${i}:0`;
  });
  // refs that are not an op's output (arguments, constants): a function output must go through an Identity
  const notOps = new Set<string>(inputs);
  const masks: { shape: number[]; rate: number; id: number }[] = [];
  const inputRefs = (op: string, ids: readonly number[]): string[] =>
    ids.map((id) => {
      const ref = refs.get(id);
      if (ref === undefined) refuse(`${op} reads a tensor from outside the call that is not an argument`);
      return ref ?? "missing:0";
    });
  const pushNode = (op: string, nodeInputs: string[], attrs: Record<string, AttrValue>): string => {
    const name = `n${nodes.length}`;
    nodes.push({ name, op, inputs: nodeInputs, attrs });
    return name;
  };
  const setOutputs = (name: string, outputs: readonly TensorMetadata[]): void =>
    outputs.forEach((out, k) => {
      refs.set(out.id, `${name}:${k}`);
      shapes.set(out.id, out.shape);
    });
  const constant = (value: ConstTensor): string => {
    const ref = `${pushNode("Const", [], { dtype: { type: value.dtype }, value: { tensor: value } })}:0`;
    notOps.add(ref);
    return ref;
  };
  // The addon's fused_matmul: 3-D operands (one batch) are reshaped to 2-D and the product back, as the addon does.
  const recordFusedMatMul = (ids: readonly number[], params: readonly number[], out: TensorMetadata): void => {
    const operand = (id: number): string => {
      const [ref] = inputRefs("fused_matmul", [id]);
      const shape = shapes.get(id);
      if (shape?.length !== 3) return ref!;
      return `${pushNode("Reshape", [ref!, constant(int32Tensor([shape[1]!, shape[2]!]))], RESHAPE_ATTRS)}:0`;
    };
    const [a, b] = [operand(ids[0]!), operand(ids[1]!)];
    let result = `${pushNode("_FusedMatMul", [a, b, ...inputRefs("fused_matmul", [ids[2]!])], fusedMatMulAttrs(params))}:0`;
    if (out.shape.length === 3) result = `${pushNode("Reshape", [result, constant(int32Tensor(out.shape))], RESHAPE_ATTRS)}:0`;
    refs.set(out.id, result);
    shapes.set(out.id, out.shape);
  };

  // The addon's methods are read-only properties: the recorder shadows them on an object whose prototype is the addon.
  const overrides: Partial<NativeBinding> = {};
  overrides.createTensor = (shape, dtype, values) => {
    const id = real.createTensor(shape, dtype, values);
    if (dtype === DT.string) refuse("a string tensor is uploaded");
    else {
      const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
      refs.set(id, constant({ dtype, shape, content: bytes }));
      shapes.set(id, shape);
    }
    return id;
  };
  overrides.executeOp = (name, attrs, ids, numOutputs) => {
    const outputs = real.executeOp(name, attrs, ids, numOutputs);
    const converted: Record<string, AttrValue> = {};
    for (const attr of attrs) {
      const value = attrValue(real, attr);
      if (value === undefined) refuse(`${name}'s attribute ${attr.name} cannot be written`);
      else converted[attr.name] = value;
    }
    setOutputs(pushNode(name, inputRefs(name, ids), converted), outputs);
    return outputs;
  };
  overrides.tensorDataSync = (id) => {
    refuse("JavaScript reads a tensor's values");
    return real.tensorDataSync(id);
  };
  if (real.workbookKernel !== undefined) {
    const kernel = real.workbookKernel;
    overrides.workbookKernel = (name, ids, params) => {
      const outputs = kernel(name, ids, params);
      if (name === "fused_conv2d") setOutputs(pushNode("_FusedConv2D", inputRefs(name, ids), fusedConvAttrs(params)), outputs);
      else if (name === "fused_matmul") recordFusedMatMul(ids, params, outputs[0]!);
      else if (name === "dropout_mask") {
        // params [rate, seed0, seed1, ...shape]: an argument; a handle of our own keeps the mask for the check
        const [rate, , , ...shape] = params as [number, number, number, ...number[]];
        const ref = `mask${masks.length}:0`;
        nodes.push({ name: `mask${masks.length}`, op: "Placeholder", inputs: [], attrs: { dtype: { type: DT.float }, shape: { shape } } });
        inputs.push(ref);
        notOps.add(ref);
        refs.set(outputs[0]!.id, ref);
        shapes.set(outputs[0]!.id, shape);
        const [kept] = real.executeOp("Identity", [{ name: "T", type: real.TF_ATTR_TYPE, value: DT.float }], [outputs[0]!.id], 1);
        masks.push({ shape, rate, id: kept!.id });
      } else refuse(`the addon's kernel ${name} has no TensorFlow op`);
      return outputs;
    };
  }

  const recorder = Object.create(
    real,
    Object.fromEntries(Object.entries(overrides).map(([key, value]) => [key, { value, enumerable: true }])),
  ) as NativeBinding;
  backend.binding = recorder;
  // Random numbers drawn in JavaScript would be constants of the function: only the masks' seeds (two each) may be.
  // (tfjs ops given a seed of their own draw from it, not Math.random, and are not seen here: no workbook layer has one.)
  const random = Math.random;
  let draws = 0;
  Math.random = () => {
    draws++;
    return random();
  };
  let outputs: Tensor[];
  try {
    outputs = run();
  } catch (err) {
    for (const { id } of masks) real.deleteTensor(id);
    throw err;
  } finally {
    backend.binding = real;
    Math.random = random;
  }
  const keptMasks = masks.map(({ shape, rate, id }) => ({
    shape,
    rate,
    tensor: backend.createOutputTensor({ id, shape, dtype: DT.float }),
  }));
  if (draws !== 2 * masks.length) refuse("JavaScript draws random numbers (a function would repeat them)");
  if (refused !== undefined) return { outputs, refused, masks: keptMasks };
  const outputRefs = backend.getInputTensorIds(outputs).map((id, k) => {
    const ref = refs.get(id);
    if (ref === undefined) {
      refuse(`output ${k} is not computed by the call`);
      return "missing:0";
    }
    if (!notOps.has(ref)) return ref;
    return `${pushNode("Identity", [ref], { T: { type: DTYPES[outputs[k]!.dtype] ?? DT.float } })}:0`;
  });
  if (refused !== undefined) return { outputs, refused, masks: keptMasks };
  return { outputs, graph: { nodes, inputs, outputs: outputRefs }, masks: keptMasks };
}

const ONEDNN_OPS: Readonly<Record<string, string>> = { _FusedConv2D: "_MklNativeFusedConv2D", _FusedMatMul: "_MklNativeFusedMatMul" };

/** `nodes` with oneDNN's kernels for the ops that have one, under the label they are registered with. */
function withOneDnn(nodes: readonly GraphNode[]): GraphNode[] {
  return nodes.map((node) => {
    const op = ONEDNN_OPS[node.op];
    return op === undefined ? node : { ...node, op, attrs: { ...node.attrs, _kernel: { s: ONEDNN_KERNEL_LABEL } } };
  });
}

const RESHAPE_ATTRS: Record<string, AttrValue> = { T: { type: DT.float }, Tshape: { type: DT.int32 } };

function int32Tensor(values: readonly number[]): ConstTensor {
  return { dtype: DT.int32, shape: [values.length], content: new Uint8Array(Int32Array.from(values).buffer) };
}

function fusedOps(relu: boolean): AttrValue {
  return { list: { s: relu ? ["BiasAdd", "Relu"] : ["BiasAdd"] } };
}

// The addon's fused_conv2d params: [stride_h, stride_w, valid (0/1), relu (0/1)] (native/workbook_kernels.cc).
function fusedConvAttrs(params: readonly number[]): Record<string, AttrValue> {
  return {
    T: { type: DT.float },
    num_args: { i: 1 },
    TArgs: { list: { type: [DT.float] } },
    strides: { list: { i: [1, params[0]!, params[1]!, 1] } },
    padding: { s: params[2] !== 0 ? "VALID" : "SAME" },
    explicit_paddings: { list: {} },
    data_format: { s: "NHWC" },
    dilations: { list: { i: [1, 1, 1, 1] } },
    fused_ops: fusedOps(params[3] !== 0),
  };
}

// The addon's fused_matmul params: [relu (0/1)].
function fusedMatMulAttrs(params: readonly number[]): Record<string, AttrValue> {
  return {
    T: { type: DT.float },
    transpose_a: { b: false },
    transpose_b: { b: false },
    num_args: { i: 1 },
    fused_ops: fusedOps(params[0] !== 0),
  };
}

/** A tfjs-node op attribute as a GraphDef attribute, or undefined where it has no such form. */
function attrValue(binding: NativeBinding, attr: OpAttr): AttrValue | undefined {
  const { type, value } = attr;
  const list = Array.isArray(value);
  if (type === binding.TF_ATTR_STRING) return typeof value === "string" ? { s: value } : undefined;
  if (type === binding.TF_ATTR_INT) return list ? { list: { i: value as number[] } } : { i: Number(value) };
  if (type === binding.TF_ATTR_FLOAT) return list ? { list: { f: value as number[] } } : { f: Number(value) };
  if (type === binding.TF_ATTR_BOOL) return list ? { list: { b: value as boolean[] } } : { b: Boolean(value) };
  if (type === binding.TF_ATTR_TYPE) return list ? { list: { type: value as number[] } } : { type: Number(value) };
  if (type === binding.TF_ATTR_SHAPE) return list ? { shape: value as number[] } : undefined;
  return undefined;
}

/**
 * Registers the traced graph as a function and checks its first call against the eager outputs: the entry to
 * call, or why not.
 */
function register(
  backend: NativeBackend,
  owner: object,
  graph: NonNullable<Traced["graph"]>,
  args: readonly Tensor[],
  eager: Tensor[],
  masks: readonly DrawnMask[],
): Entry {
  const name = `workbook_fn_${nextFunction++}`;
  // oneDNN's fused kernels by name, as the addon calls them eagerly: TensorFlow's layout pass does not put them into
  // a function made this way (its _FusedConv2D ran Eigen's kernel), else TensorFlow's own ops.
  const variants = oneDnnAllowed ? [withOneDnn(graph.nodes), graph.nodes] : [graph.nodes];
  let refusal = "";
  for (const nodes of variants) {
    try {
      backend.binding.workbookFunction!(name, encodeGraphDef(nodes), graph.inputs, graph.outputs);
      refusal = "";
      break;
    } catch (err) {
      refusal = `TensorFlow refused the function: ${(err as Error).message}`;
    }
  }
  if (refusal !== "") return { refused: refusal };
  const remove = (): void => backend.binding.workbookFunction!(name, null, [], []);
  let mismatch: string | undefined;
  try {
    const results = backend.executeMultipleOutputs(name, [], args as Tensor[], graph.outputs.length);
    mismatch = tf.tidy(() => {
      for (let k = 0; k < results.length; k++) {
        const [a, b] = [results[k]!, eager[k]!];
        if (a.dtype !== b.dtype || !tf.util.arraysEqual(a.shape, b.shape)) return `output ${k} has shape ${a.shape}, eager ${b.shape}`;
        if (a.dtype !== "float32") {
          if (!tf.util.arraysEqual(a.dataSync(), b.dataSync())) return `output ${k} differs from the eager call's`;
          continue;
        }
        const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
        const scale = Math.max(1, tf.max(tf.abs(b)).dataSync()[0]!);
        if (!(diff <= 1e-4 * scale)) return `output ${k} differs from the eager call's by ${diff}`;
      }
      return undefined;
    });
    tf.dispose(results);
  } catch (err) {
    mismatch = `its first call failed: ${(err as Error).message}`;
  }
  if (mismatch !== undefined) {
    remove();
    return { refused: mismatch };
  }
  registry.register(owner, { binding: backend.binding, name });
  return { name, numOutputs: graph.outputs.length, masks: masks.map(({ shape, rate }) => ({ shape, rate })) };
}
