/**
 * Conv2DBackpropInput (the input gradient of Conv2D) for the wasm backend.
 *
 * Why: the stock wasm kernel is a naive C++ loop, ~10x slower than XNNPACK. The
 * input gradient is a forward convolution of dy with the spatially flipped filter
 * (in/out channels swapped), so it is computed by the stock XNNPACK Conv2D:
 *   dx = conv2d(dilate(dy, stride), flip(W)^T, stride 1, explicit padding
 *        top = FH-1-padTop, left = FW-1-padLeft, bottom/right so that dx is H x W).
 * For stride > 1, dy is first spread out with stride-1 zeros between rows/columns
 * (more multiply-adds, still far faster than the naive loop). NCHW, or explicit
 * paddings that would need negative padding here, go to the stock kernel.
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs";
import { callKernel, conv2DGeometry, f32, mark, release, wasmKernel, type WasmKernelArgs } from "./util";

export function conv2DBackpropInput(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs["dy"]!;
  const filter = inputs["filter"]!;
  const inputShape = attrs["inputShape"] as [number, number, number, number];
  if (attrs["dataFormat"] === "NCHW" || dy.dtype !== "float32" || filter.dtype !== "float32") {
    return wasmKernel("Conv2DBackpropInput")(args as never) as TensorInfo;
  }
  const { N, H, W, Ci, OH, OW, Co, FH, FW, sh, sw, padTop, padLeft } = conv2DGeometry(
    inputShape,
    filter.shape as [number, number, number, number],
    attrs,
  );
  const DH = (OH - 1) * sh + 1;
  const DW = (OW - 1) * sw + 1;
  const top = FH - 1 - padTop;
  const left = FW - 1 - padLeft;
  const bottom = H - DH - top + FH - 1;
  const right = W - DW - left + FW - 1;
  if (top < 0 || left < 0 || bottom < 0 || right < 0 || OH === 0 || OW === 0) {
    return wasmKernel("Conv2DBackpropInput")(args as never) as TensorInfo;
  }

  // Flipped filter, [FH, FW, Co, Ci].
  const wf = backend.makeOutput([FH, FW, Co, Ci], "float32");
  {
    const w = f32(backend, filter);
    const o = f32(backend, wf);
    for (let a = 0; a < FH; a++) {
      for (let b = 0; b < FW; b++) {
        const src = ((FH - 1 - a) * FW + (FW - 1 - b)) * Ci * Co;
        const dst = (a * FW + b) * Co * Ci;
        for (let ci = 0; ci < Ci; ci++) {
          for (let co = 0; co < Co; co++) o[dst + co * Ci + ci] = w[src + ci * Co + co]!;
        }
      }
    }
  }

  // dy spread out by the stride (zeros in between).
  let dyD = dy;
  if (sh !== 1 || sw !== 1) {
    dyD = backend.makeOutput([N, DH, DW, Co], "float32");
    const s = f32(backend, dy);
    const d = f32(backend, dyD);
    d.fill(0);
    for (let n = 0; n < N; n++) {
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          const si = ((n * OH + oh) * OW + ow) * Co;
          const di = ((n * DH + oh * sh) * DW + ow * sw) * Co;
          d.set(s.subarray(si, si + Co), di);
        }
      }
    }
  }

  const dx = callKernel(
    "Conv2D",
    backend,
    { x: dyD, filter: wf },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: "NHWC",
      dilations: [1, 1],
      dimRoundingMode: undefined,
    },
  );
  release(backend, wf);
  if (dyD !== dy) release(backend, dyD);
  if (dx.shape[1] !== H || dx.shape[2] !== W || dx.shape[3] !== Ci) {
    throw new Error(`Conv2DBackpropInput: internal shape mismatch ${dx.shape} vs ${inputShape}`);
  }
  return dx;
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: "Conv2DBackpropInput",
  backendName: "wasm",
  kernelFunc: mark(conv2DBackpropInput) as unknown as KernelConfig["kernelFunc"],
};
