import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/runtime/backend";

/**
 * Runs the enclosing describe block on the given tfjs backend (pure-JS "cpu" by default: exact and
 * always available), then puts back whatever backend was active before.
 */
export function useBackend(name = "cpu"): void {
  let previous: string | undefined;
  before(async () => {
    previous = tf.getBackend();
    await tf.setBackend(name);
  });
  after(async () => {
    if (previous !== undefined && previous !== name) await tf.setBackend(previous);
  });
}

/**
 * Activates native TensorFlow (`npm run native`) for a test or a block, or skips it, saying why, where it is not
 * built; WORKBOOK_REQUIRE_NATIVE=1 (CI's native stage) makes its absence a failure.
 */
export async function nativeOrSkip(context: Mocha.Context): Promise<void> {
  try {
    await selectBackend({ force: "tensorflow" });
  } catch (err) {
    if (process.env["WORKBOOK_REQUIRE_NATIVE"] === "1") throw err;
    console.log(`      (skipped: ${(err as Error).message})`);
    context.skip();
  }
}
