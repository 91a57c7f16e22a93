/**
 * Where a backend's time goes: every kernel registered for it wrapped with a timer (`npm run bench -- --profile`).
 */
import * as tf from "@tensorflow/tfjs";

export interface KernelTime {
  kernel: string;
  calls: number;
  ms: number;
}

/**
 * Wraps every kernel registered for `backendName` with a timer (kernelFuncs are synchronous on wasm and
 * cpu). Times are exclusive: a kernel that calls other registered kernels (the training kernels of
 * runtime/wasm-kernels do) is charged without them. Returns the accumulator and a function that puts the
 * original kernels back.
 */
export function profileKernels(backendName: string): { times: Map<string, KernelTime>; reset(): void; restore(): void } {
  const times = new Map<string, KernelTime>();
  const configs = tf.getKernelsForBackend(backendName);
  // Time spent in nested kernel calls, per open call.
  const childMs: number[] = [];
  for (const config of configs) {
    const orig = config.kernelFunc;
    const wrapped = ((args: Parameters<tf.KernelFunc>[0]) => {
      const t0 = performance.now();
      childMs.push(0);
      try {
        return orig(args);
      } finally {
        const dt = performance.now() - t0;
        const nested = childMs.pop() ?? 0;
        if (childMs.length > 0) childMs[childMs.length - 1]! += dt;
        const entry = times.get(config.kernelName) ?? { kernel: config.kernelName, calls: 0, ms: 0 };
        entry.calls++;
        entry.ms += dt - nested;
        times.set(config.kernelName, entry);
      }
    }) as tf.KernelFunc;
    for (const sym of Object.getOwnPropertySymbols(orig))
      (wrapped as unknown as Record<symbol, unknown>)[sym] = (orig as unknown as Record<symbol, unknown>)[sym];
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel({ ...config, kernelFunc: wrapped });
  }
  return {
    times,
    reset: () => times.clear(),
    restore() {
      for (const config of configs) {
        tf.unregisterKernel(config.kernelName, backendName);
        tf.registerKernel(config);
      }
    },
  };
}

/** The kernels that took the most time per step, from a profile over `steps` steps that took `stepMs` in all. */
export function topKernels(
  times: Map<string, KernelTime>,
  steps: number,
  stepMs: number,
  limit = 25,
): { stepMs: number; kernelMs: number; kernelCalls: number; kernels: KernelTime[] } {
  const all = [...times.values()].sort((a, b) => b.ms - a.ms);
  const total = all.reduce((s, k) => s + k.ms, 0);
  return {
    stepMs: round(stepMs / steps, 1),
    kernelMs: round(total / steps, 1),
    kernelCalls: Math.round(all.reduce((s, k) => s + k.calls, 0) / steps),
    kernels: all.slice(0, limit).map((k) => ({ kernel: k.kernel, calls: Math.round(k.calls / steps), ms: round(k.ms / steps, 1) })),
  };
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
