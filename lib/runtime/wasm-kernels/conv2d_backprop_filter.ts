/**
 * Conv2DBackpropFilter (the weight gradient of Conv2D) for the wasm backend.
 *
 * Why: tfjs-backend-wasm 4.22 does not register it, so no Conv2D layer can train on
 * wasm. Built from XNNPACK matmuls (the stock BatchMatMul's fast path):
 *   dW[(fh,fw,ci), co] = sum_m cols^T[(fh,fw,ci), m] * dy[m, co],  m = (n, oh, ow)
 *   cols^T[(fh,fw,ci), m] = x[n, oh*sh+fh-pt, ow*sw+fw-pl, ci]   (0 in the padding)
 * i.e. one matmul whose rows are all filter taps at once, and whose result is already
 * in the [FH, FW, Ci, Co] filter layout. The input is transposed once to [Ci, N, H, W]
 * so that cols^T rows are gathered as contiguous copies. M = N*OH*OW is large (65,536
 * for a 32x32 layer at batch 64), so M is split into chunks that bound cols^T (64 MB)
 * and the partial products are summed. NCHW inputs are transposed to NHWC first.
 * Measured at batch 64 on the coursework CNN's layers: 1.1-2.6x the time of XNNPACK's forward conv of
 * the same layer (about 200 ms for all seven, against 80 ms forward), about 40% of it in the gather. One
 * Conv2D call instead (the batch as channels, dy as the filter, dilated by the strides: no cols^T) was
 * tried and was 5-40% slower on every layer.
 */
import type { KernelConfig, TensorInfo } from "@tensorflow/tfjs";
import { conv2DGeometry, f32, mark, matMul, release, transpose, type WasmKernelArgs } from "./util";

/**
 * Size of the cols^T buffer, in floats (tests shrink it to exercise chunking): 64 MB, so that the
 * coursework CNN's largest layer takes 2 chunks (each chunk's matMul repacks its dy rows; 16 MB chunks
 * made the CNN's seven filter gradients 10% slower).
 */
export const conv2DBackpropFilterTuning = { maxColsElements: 1 << 24 };

export function conv2DBackpropFilter(args: WasmKernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  let x = inputs["x"]!;
  let dy = inputs["dy"]!;
  const filterShape = attrs["filterShape"] as [number, number, number, number];
  const nchw = attrs["dataFormat"] === "NCHW";
  const temps: TensorInfo[] = [];
  if (nchw) {
    x = transpose(backend, x, [0, 2, 3, 1]);
    dy = transpose(backend, dy, [0, 2, 3, 1]);
    temps.push(x, dy);
  }
  if (x.dtype !== "float32" || dy.dtype !== "float32") throw new Error("Conv2DBackpropFilter: float32 only");
  const { N, H, W, Ci, OH, OW, Co, FH, FW, sh, sw, padTop, padLeft } = conv2DGeometry(
    x.shape as [number, number, number, number],
    filterShape,
    attrs,
  );
  if (dy.shape[1] !== OH || dy.shape[2] !== OW || dy.shape[3] !== Co) {
    throw new Error(`Conv2DBackpropFilter: dy shape ${dy.shape} does not match [${N},${OH},${OW},${Co}]`);
  }
  const M = N * OH * OW;
  const K = FH * FW * Ci;
  const out = backend.makeOutput([FH, FW, Ci, Co], "float32");
  f32(backend, out).fill(0);
  if (M === 0) {
    release(backend, ...temps);
    return out;
  }
  const xT = transpose(backend, x, [3, 0, 1, 2]); // [Ci, N, H, W]
  // Chunks of whole output rows (n, oh), so that cols^T stays around 16 MB (at most
  // one chunk for small layers). The matmul itself runs at XNNPACK speed either way.
  const rowsTotal = N * OH;
  const targetCols = Math.max(OW, Math.floor(conv2DBackpropFilterTuning.maxColsElements / K));
  const chunkRows = Math.max(1, Math.min(rowsTotal, Math.floor(targetCols / OW)));
  const colsT = backend.makeOutput([K, chunkRows * OW], "float32");

  for (let r0 = 0; r0 < rowsTotal; r0 += chunkRows) {
    const rows = Math.min(chunkRows, rowsTotal - r0);
    const L = rows * OW;
    // dy rows of this chunk as the matmul's weights operand (a fresh tensor: the stock
    // BatchMatMul caches XNNPACK's packed weights by tensor id).
    const dyChunk = backend.makeOutput([L, Co], "float32");
    f32(backend, dyChunk).set(f32(backend, dy).subarray(r0 * OW * Co, (r0 * OW + L) * Co));
    const a: TensorInfo = rows === chunkRows ? colsT : { dataId: colsT.dataId, shape: [K, L], dtype: "float32" };
    gatherCols(f32(backend, xT), f32(backend, colsT), { N, H, W, Ci, OH, OW, FH, FW, sh, sw, pt: padTop, pl: padLeft }, r0, rows);
    const part = matMul(backend, a, dyChunk); // [K, Co] = dW layout
    const acc = f32(backend, out);
    const p = f32(backend, part);
    for (let i = 0; i < p.length; i++) acc[i] += p[i]!;
    release(backend, part, dyChunk);
  }
  release(backend, xT, colsT, ...temps);
  return out;
}

interface Geometry {
  N: number;
  H: number;
  W: number;
  Ci: number;
  OH: number;
  OW: number;
  FH: number;
  FW: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
}

/**
 * cols^T[(fh, fw, ci), j] = xT[ci, n, oh*sh+fh-pt, ow*sw+fw-pl] (0 outside the image)
 * for j = (r - r0)*OW + ow, r = n*OH + oh in [r0, r0 + rows).
 * Both views are on the same wasm heap, so contiguous runs are moved with copyWithin
 * (no allocation); with stride 1 and W == OW (the 'same' case) a whole image block
 * is one copy, after which the few columns that fall into the padding are zeroed.
 */
function gatherCols(src: Float32Array, dst: Float32Array, g: Geometry, r0: number, rows: number): void {
  const { N, H, W, Ci, OH, OW, FH, FW, sh, sw, pt, pl } = g;
  const heap = new Float32Array(src.buffer);
  const s0 = src.byteOffset >> 2;
  const d0 = dst.byteOffset >> 2;
  const L = rows * OW;
  const nLo = Math.floor(r0 / OH);
  const nHi = Math.floor((r0 + rows - 1) / OH);
  for (let fh = 0; fh < FH; fh++) {
    // valid oh: 0 <= oh*sh + fh - pt < H
    const ohValidLo = Math.max(0, Math.ceil((pt - fh) / sh));
    const ohValidHi = Math.min(OH, Math.floor((H - 1 + pt - fh) / sh) + 1);
    for (let fw = 0; fw < FW; fw++) {
      const owLo = Math.max(0, Math.ceil((pl - fw) / sw));
      const owHi = Math.min(OW, Math.floor((W - 1 + pl - fw) / sw) + 1);
      const block = sh === 1 && sw === 1 && W === OW;
      for (let ci = 0; ci < Ci; ci++) {
        const rowBase = d0 + ((fh * FW + fw) * Ci + ci) * L;
        for (let n = nLo; n <= nHi; n++) {
          const ohStart = Math.max(0, r0 - n * OH);
          const ohEnd = Math.min(OH, r0 + rows - n * OH);
          const dn = rowBase + (n * OH - r0) * OW; // dst index of (n, oh=0, ow=0)
          const lo = Math.max(ohStart, ohValidLo);
          const hi = Math.min(ohEnd, ohValidHi);
          if (lo >= hi || owLo >= owHi) {
            heap.fill(0, dn + ohStart * OW, dn + ohEnd * OW);
            continue;
          }
          if (lo > ohStart) heap.fill(0, dn + ohStart * OW, dn + lo * OW);
          if (hi < ohEnd) heap.fill(0, dn + hi * OW, dn + ohEnd * OW);
          const sn = s0 + (ci * N + n) * H * W; // src index of (ci, n, ih=0, iw=0)
          if (block) {
            // dst[oh*OW + ow] = src[(oh + fh - pt)*W + ow + fw - pl] for all oh in [lo, hi)
            const off = (fh - pt) * W + fw - pl;
            let a = lo * OW;
            let b = hi * OW;
            // clip to the source image block (the clipped ends are padding columns anyway)
            const sa = sn + a + off;
            if (sa < sn) a += sn - sa;
            const sb = sn + b + off;
            if (sb > sn + H * W) b -= sb - (sn + H * W);
            heap.copyWithin(dn + a, sn + a + off, sn + b + off);
            for (let oh = lo; oh < hi; oh++) {
              const d = dn + oh * OW;
              for (let ow = 0; ow < owLo; ow++) heap[d + ow] = 0;
              for (let ow = owHi; ow < OW; ow++) heap[d + ow] = 0;
            }
          } else {
            for (let oh = lo; oh < hi; oh++) {
              const d = dn + oh * OW;
              const s = sn + (oh * sh + fh - pt) * W + fw - pl; // + ow*sw
              if (owLo > 0) heap.fill(0, d, d + owLo);
              if (owHi < OW) heap.fill(0, d + owHi, d + OW);
              if (sw === 1) {
                heap.copyWithin(d + owLo, s + owLo, s + owHi);
              } else {
                for (let ow = owLo; ow < owHi; ow++) heap[d + ow] = heap[s + ow * sw]!;
              }
            }
          }
        }
      }
    }
  }
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: "Conv2DBackpropFilter",
  backendName: "wasm",
  kernelFunc: mark(conv2DBackpropFilter) as unknown as KernelConfig["kernelFunc"],
};
