/**
 * The native backend's own kernels (runtime/native-kernels.ts, native/workbook_kernels.cc) against independent
 * expectations: tfjs's pure-JavaScript cpu backend for Step, the definition of dropout for DropoutMask and the
 * Dropout layer's route. Runs where `npm run native` built the backend (WORKBOOK_REQUIRE_NATIVE=1 makes its absence
 * a failure); Adam and LstmSequence have their own tests (adam.test.ts, fused-lstm.test.ts).
 */
import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import { nativeOrSkip } from "./helpers";
import { DROPOUT_MASK, addonKernelCalls, nativeKernelsRegistered } from "../lib/runtime/native-kernels";
import { fastDropoutActive, setFastDropout } from "../lib/runtime/fast-dropout";
import { withSeededMathRandomSync } from "../lib/runtime/random";
import { CONV2D_BACKPROP_FILTER_WITH_BIAS, nativeCnnOpCalls } from "../lib/runtime/native-cnn-ops";
import { fusedConvActive } from "../lib/runtime/fused-conv";

describe("native TensorFlow's own kernels", function () {
  this.timeout(60000);

  before(async function () {
    await nativeOrSkip(this);
  });

  after(async () => {
    await tf.setBackend("cpu");
  });

  it("are registered for the tensorflow backend", () => {
    assert.equal(nativeKernelsRegistered(), true);
    assert.equal(fastDropoutActive(), true);
  });

  it("Step equals the cpu backend's: 1 above 0, alpha at and below, NaN for NaN", async () => {
    const values = [-3, -0.5, 0, 1e-30, 0.5, 7, NaN, -Infinity, Infinity];
    for (const alpha of [0, 0.25]) {
      const native = Array.from(tf.step(tf.tensor1d(values), alpha).dataSync());
      await tf.setBackend("cpu");
      const cpu = Array.from(tf.step(tf.tensor1d(values), alpha).dataSync());
      await tf.setBackend("tensorflow");
      assert.deepEqual(native, cpu, `alpha ${alpha}`);
    }
  });

  it("FusedConv2D (oneDNN's or TensorFlow's fused convolution where it applies) equals the cpu backend's convolutions, and so do its gradients", async () => {
    const random = (shape: [number, number, number, number], seed: number) =>
      tf.randomUniform(shape, -1, 1, "float32", seed) as tf.Tensor4D;
    const cases = [
      { strides: 1, pad: "same", activation: "relu", bias: true },
      { strides: 2, pad: "same", activation: "relu", bias: true },
      { strides: 1, pad: "valid", activation: "linear", bias: true },
      { strides: 2, pad: "valid", activation: "relu", bias: false }, // tfjs-node's own kernel
    ] as const;
    for (const c of cases) {
      const run = () =>
        tf.tidy(() => {
          const x = random([3, 9, 9, 4], 1);
          const filter = random([3, 3, 4, 5], 2);
          const bias = c.bias ? (tf.randomUniform([5], -1, 1, "float32", 3) as tf.Tensor1D) : undefined;
          const f = (xv: tf.Tensor, fv: tf.Tensor) =>
            tf.sum(
              tf.mul(
                tf.fused.conv2d({
                  x: xv as tf.Tensor4D,
                  filter: fv as tf.Tensor4D,
                  strides: c.strides,
                  pad: c.pad,
                  activation: c.activation,
                  ...(bias ? { bias } : {}),
                }),
                1.5,
              ),
            );
          const y = tf.fused.conv2d({ x, filter, strides: c.strides, pad: c.pad, activation: c.activation, ...(bias ? { bias } : {}) });
          const [dx, dFilter] = tf.grads(f)([x, filter]) as [tf.Tensor, tf.Tensor];
          return [y, dx, dFilter].map((t) => Array.from(t.dataSync()));
        });
      const before = addonKernelCalls.get("fused_conv2d") ?? 0;
      const native = run();
      // the route really taken: the addon's _FusedConv2D exactly when there is a bias
      assert.equal((addonKernelCalls.get("fused_conv2d") ?? 0) > before, c.bias, JSON.stringify(c));
      await tf.setBackend("cpu");
      const cpu = run();
      await tf.setBackend("tensorflow");
      native.forEach((values, k) =>
        values.forEach((v, i) =>
          assert.ok(
            Math.abs(v - cpu[k]![i]!) <= 1e-5 * (1 + Math.abs(cpu[k]![i]!)),
            `${JSON.stringify(c)} output ${k}[${i}]: ${v} vs ${cpu[k]![i]}`,
          ),
        ),
      );
    }
  });

  it("a Dense layer's fused product (oneDNN's fused inner product where it applies) equals the cpu backend's, and so do its gradients", async () => {
    const cases = [
      { rows: 5, inputs: 7, units: 3, activation: "relu" as const },
      { rows: 64, inputs: 48, units: 25, activation: "linear" as const },
      { rows: 1, inputs: 9, units: 4, activation: "relu" as const },
    ];
    for (const c of cases) {
      const random = (shape: number[], seed: number) => Array.from(tf.randomNormal(shape, 0, 1, "float32", seed).dataSync());
      const values = { x: random([c.rows, c.inputs], 1), w: random([c.inputs, c.units], 2), b: random([c.units], 3) };
      const run = () =>
        tf.tidy(() => {
          const x = tf.tensor2d(values.x, [c.rows, c.inputs]);
          const w = tf.tensor2d(values.w, [c.inputs, c.units]);
          const b = tf.tensor1d(values.b);
          const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
            tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation: c.activation });
          const y = f(x, w, b);
          const grads = tf.grads((x, w, b) => f(x, w, b).square().sum())([x, w, b]);
          return [y, ...grads].map((t) => Array.from(t.dataSync()));
        });
      const before = addonKernelCalls.get("fused_matmul") ?? 0;
      const native = run();
      // the forward product outside the tape at least (tfjs fuses a ReLU only outside a gradient tape)
      assert.ok((addonKernelCalls.get("fused_matmul") ?? 0) > before, `${JSON.stringify(c)}: the addon's fused_matmul ran`);
      await tf.setBackend("cpu");
      const cpu = run();
      await tf.setBackend("tensorflow");
      // float32 sums of up to 64 products in another order: within 1e-5 of the largest value of each output
      native.forEach((vs, k) => {
        const scale = 1 + Math.max(...cpu[k]!.map(Math.abs));
        vs.forEach((v, i) =>
          assert.ok(Math.abs(v - cpu[k]![i]!) <= 1e-5 * scale, `${JSON.stringify(c)} output ${k}[${i}]: ${v} vs ${cpu[k]![i]}`),
        );
      });
    }
  });

  /** `f`'s values on native and on the cpu backend, and how often each native gradient route ran meanwhile. */
  async function nativeAndCpu(f: () => number[][]): Promise<{ native: number[][]; cpu: number[][]; calls: Map<string, number> }> {
    const before = new Map(nativeCnnOpCalls);
    const native = f();
    const calls = new Map([...nativeCnnOpCalls].map(([k, v]) => [k, v - (before.get(k) ?? 0)]));
    await tf.setBackend("cpu");
    const cpu = f();
    await tf.setBackend("tensorflow");
    return { native, cpu, calls };
  }

  // oneDNN's kernels exist in x86 builds unless switched off
  const oneDnn = process.arch === "x64" && process.env["TF_ENABLE_ONEDNN_OPTS"] !== "0";

  it("max pooling's gradient (oneDNN's where TensorFlow has it) equals the cpu backend's", async () => {
    const cases = [
      { size: 2, strides: 2, pad: "valid", shape: [2, 8, 8, 3] },
      { size: 3, strides: 2, pad: "same", shape: [2, 9, 7, 4] },
      { size: 2, strides: 1, pad: "same", shape: [1, 5, 5, 2] },
    ] as const;
    for (const c of cases) {
      const { native, cpu, calls } = await nativeAndCpu(() =>
        tf.tidy(() => {
          // distinct values (no ties), a ReLU's zeros after it
          const x = tf.relu(tf.randomUniform([...c.shape], -1, 1, "float32", 7)) as tf.Tensor4D;
          const w = tf.randomUniform(tf.maxPool(x, c.size, c.strides, c.pad).shape, -1, 1, "float32", 8);
          const dx = tf.grad((xv: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xv as tf.Tensor4D, c.size, c.strides, c.pad), w)))(x);
          return [Array.from(dx.dataSync())];
        }),
      );
      assert.equal((calls.get("onednn_max_pool_grad") ?? 0) > 0, oneDnn, `route taken, ${JSON.stringify(c)}`);
      // overlapping windows add gradients in another order: float32 rounding
      native[0]!.forEach((v, i) =>
        assert.ok(Math.abs(v - cpu[0]![i]!) <= 1e-6 * (1 + Math.abs(cpu[0]![i]!)), `${JSON.stringify(c)}[${i}]`),
      );
      assert.ok(native[0]!.some((v) => v !== 0));
    }
  });

  it("max pooling (oneDNN's where TensorFlow has it) equals the cpu backend's, ties and -Infinity included", async () => {
    const cases = [
      { size: [2, 2], strides: [2, 2], pad: "valid", shape: [2, 8, 8, 3] },
      { size: [3, 3], strides: [2, 2], pad: "same", shape: [2, 9, 7, 4] },
      { size: [2, 3], strides: [1, 2], pad: "same", shape: [1, 5, 6, 2] },
    ] as const;
    for (const c of cases) {
      const { native, cpu, calls } = await nativeAndCpu(() =>
        tf.tidy(() => {
          // a ReLU's zeros give ties, and one input is -Infinity
          const values = Array.from(tf.relu(tf.randomUniform([...c.shape], -1, 1, "float32", 9)).dataSync());
          values[0] = -Infinity;
          const x = tf.tensor4d(values, [...c.shape]);
          return [Array.from(tf.maxPool(x, [...c.size], [...c.strides], c.pad).dataSync())];
        }),
      );
      assert.equal((calls.get("onednn_max_pool") ?? 0) > 0, oneDnn, `route taken, ${JSON.stringify(c)}`);
      // a maximum is one of its inputs: exactly equal
      assert.deepEqual(native[0], cpu[0], JSON.stringify(c));
      assert.ok(native[0]!.some((v) => v > 0));
    }
  });

  it("ReLU's gradient (TensorFlow's ReluGrad) equals the cpu backend's: dy above 0, 0 at and below", async () => {
    const values = [-3, -0.5, 0, 1e-30, 0.5, 7, -Infinity, Infinity];
    const { native, cpu, calls } = await nativeAndCpu(() =>
      tf.tidy(() => {
        const dy = tf.tensor1d(values.map((_, i) => i + 1.5));
        return [
          Array.from(
            tf
              .grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), dy)))(tf.tensor1d(values))
              .dataSync(),
          ),
        ];
      }),
    );
    assert.equal(calls.get("relu_grad"), 1);
    assert.deepEqual(native, cpu);
    assert.deepEqual(native[0], [0, 0, 0, 4.5, 5.5, 6.5, 0, 8.5]); // by hand: dy where x > 0
  });

  it("a Conv2D layer with a bias and a ReLU runs fused while training, with the cpu backend's output and gradients", async () => {
    assert.equal(fusedConvActive(), true);
    for (const [strides, padding] of [
      [1, "same"],
      [2, "valid"],
    ] as const) {
      const layer = tf.layers.conv2d({
        filters: 5,
        kernelSize: 3,
        strides,
        padding,
        activation: "relu",
        kernelInitializer: "glorotUniform",
      });
      const x = tf.randomUniform([2, 7, 7, 3], -1, 1, "float32", 4);
      layer.apply(x); // builds the weights
      layer.setWeights([tf.randomUniform([3, 3, 3, 5], -1, 1, "float32", 5), tf.randomUniform([5], -0.5, 0.5, "float32", 6)]);
      const run = () =>
        tf.tidy(() => {
          const w = tf.randomUniform([2, padding === "same" ? 7 : 3, padding === "same" ? 7 : 3, 5], -1, 1, "float32", 9);
          const f = () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, w)) as tf.Scalar;
          const { value, grads } = tf.variableGrads(
            f,
            layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val),
          );
          const dx = tf.grad((xv: tf.Tensor) => tf.sum(tf.mul(layer.apply(xv, { training: true }) as tf.Tensor, w)))(x);
          return [value, dx, ...Object.values(grads)].map((t) => Array.from(t.dataSync()));
        });
      // the route taken: one FusedConv2D, no separate bias Add or Relu, while gradients are recorded
      // (tf.profile returns one shared object that the next profile overwrites: keep the names)
      const { kernelNames } = await tf.profile(() =>
        tf.grad((xv: tf.Tensor) => tf.sum(layer.apply(xv, { training: true }) as tf.Tensor))(x),
      );
      assert.ok(kernelNames.includes("FusedConv2D") && !kernelNames.includes("Relu"), kernelNames.join());
      assert.ok(kernelNames.includes("Conv2DBackpropInput"), kernelNames.join());
      // only the gradients the tape needs: for the weights alone (a first layer), no input gradient is computed
      const weightsOnly = await tf.profile(() =>
        tf.variableGrads(
          () => tf.sum(layer.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
          layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val),
        ),
      );
      assert.ok(!weightsOnly.kernelNames.includes("Conv2DBackpropInput"), weightsOnly.kernelNames.join());
      // the filter's and the bias's gradients as one kernel: the only Sum left is the loss's own
      assert.ok(weightsOnly.kernelNames.includes(CONV2D_BACKPROP_FILTER_WITH_BIAS), weightsOnly.kernelNames.join());
      assert.equal(weightsOnly.kernelNames.filter((name) => name === "Sum").length, 1, weightsOnly.kernelNames.join());
      const { native, cpu, calls } = await nativeAndCpu(run);
      assert.ok((calls.get("relu_grad") ?? 0) >= 2, "the ReLU's gradient from the fused op's output");
      assert.equal((calls.get("onednn_conv_filter_with_bias") ?? 0) > 0, oneDnn, "oneDNN's filter-and-bias gradient taken");
      native.forEach((values, k) =>
        values.forEach((v, i) =>
          assert.ok(Math.abs(v - cpu[k]![i]!) <= 1e-5 * (1 + Math.abs(cpu[k]![i]!)), `${padding} output ${k}[${i}]: ${v} vs ${cpu[k]![i]}`),
        ),
      );
    }
  });

  const mask = (shape: number[], rate: number, seed: [number, number]) =>
    tf.engine().runKernel(DROPOUT_MASK, {}, { shape, rate, seed }) as tf.Tensor;

  it("DropoutMask: 0 or 1 / (1 - rate), kept at the rate's complement, the same for the same seed", () => {
    for (const rate of [0.2, 0.5, 0.8]) {
      const values = mask([64, 32, 32, 4], rate, [11, 12]).dataSync();
      const scale = 1 / (1 - rate);
      let kept = 0;
      for (const v of values) {
        assert.ok(v === 0 || Math.abs(v - scale) < 1e-6, `value ${v}`);
        if (v !== 0) kept++;
      }
      // 262,144 draws: the kept fraction's standard deviation is below 0.001
      const fraction = kept / values.length;
      assert.ok(Math.abs(fraction - (1 - rate)) < 0.005, `rate ${rate}: kept ${fraction}`);
    }
    const a = mask([1000], 0.5, [1, 2]).dataSync();
    const b = mask([1000], 0.5, [1, 2]).dataSync();
    const c = mask([1000], 0.5, [1, 3]).dataSync();
    assert.deepEqual(Array.from(a), Array.from(b));
    assert.ok(
      a.some((v, i) => v !== c[i]),
      "another seed gives another mask",
    );
    // neighbouring elements are not correlated (a counter-based generator's risk)
    let same = 0;
    for (let i = 1; i < a.length; i++) if ((a[i] === 0) === (a[i - 1] === 0)) same++;
    assert.ok(Math.abs(same / (a.length - 1) - 0.5) < 0.06, `neighbours agree ${same} of ${a.length - 1} times`);
  });

  it("a Dropout layer in training multiplies by the mask, its gradient is dy times the same mask, and a seed repeats it", () => {
    const layer = tf.layers.dropout({ rate: 0.3 });
    const x = tf.randomUniform([8, 50], 1, 2);
    const v = tf.variable(x, true, `dropout_x_${Math.random()}`);
    const xs = x.dataSync();
    const run = (seed: number) =>
      withSeededMathRandomSync(seed, () => {
        let y: Float32Array | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const out = layer.apply(v, { training: true }) as tf.Tensor;
          y = out.dataSync() as Float32Array;
          return tf.sum(tf.mul(out, 3));
        }, [v]);
        return { value: value.dataSync()[0]!, y: y!, grad: grads[v.name]!.dataSync() };
      });
    const first = run(5);
    assert.equal(run(5).value, first.value, "the same seed gives the same masks");
    assert.notEqual(run(6).value, first.value, "another seed gives other masks");
    let dropped = 0;
    for (let i = 0; i < xs.length; i++) {
      const m = first.y[i]! / xs[i]!;
      assert.ok(m === 0 || Math.abs(m - 1 / 0.7) < 1e-5, `multiplier ${m}`);
      assert.ok(Math.abs(first.grad[i]! - 3 * m) < 1e-5, `gradient ${first.grad[i]} for multiplier ${m}`);
      if (m === 0) dropped++;
    }
    assert.ok(dropped > 60 && dropped < 180, `${dropped} of 400 dropped at rate 0.3`);
    // Off the route, tfjs's own dropout gives the same kind of result.
    setFastDropout(false);
    try {
      assert.equal(fastDropoutActive(), false);
      const stock = (layer.apply(x, { training: true }) as tf.Tensor).dataSync();
      assert.ok(stock.every((s, i) => s === 0 || Math.abs(s / xs[i]! - 1 / 0.7) < 1e-5));
    } finally {
      setFastDropout(true);
    }
    assert.deepEqual(Array.from((layer.apply(x, { training: false }) as tf.Tensor).dataSync()), Array.from(xs), "no dropout at inference");
    v.dispose();
  });
});
