/**
 * Seeded randomness. Every random choice in the workbook (split, sampling, shuffling) goes through
 * these functions so that the same seed and the same data always give the same result.
 */

/** A generator of floats in [0, 1). */
export type Random = () => number;

/** mulberry32: tiny, fast, and good enough for shuffling and sampling (not for cryptography). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A uniform integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/** Fisher-Yates shuffle into a new array; the input is left as it is. */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** k distinct items drawn without replacement, in draw order. */
export function sample<T>(items: readonly T[], k: number, random: Random): T[] {
  return shuffled(items, random).slice(0, Math.min(k, items.length));
}

/**
 * Runs `fn` with Math.random replaced by a generator seeded with `seed`, and puts Math.random back after.
 * TensorFlow.js draws a fresh seed from Math.random for every op that is not given one (dropout masks, the
 * LSTM's dropout, unseeded initialisers), so inside `fn` those become reproducible: the same seed, data,
 * backend and thread count give the same numbers.
 */
export async function withSeededMathRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const original = Math.random;
  Math.random = seededRandom(seed ^ 0x5eed5eed);
  try {
    return await fn();
  } finally {
    Math.random = original;
  }
}

/** withSeededMathRandom for synchronous work (building a model with unseeded initialisers). */
export function withSeededMathRandomSync<T>(seed: number, fn: () => T): T {
  const original = Math.random;
  Math.random = seededRandom(seed ^ 0x5eed5eed);
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
