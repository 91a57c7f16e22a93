/**
 * Another route for a tfjs-layers layer's `call` (the fused BiLSTM, the fast dropout): the layer class, its config,
 * weights and saved format stay tfjs-layers' own; only its call tries a route first, which answers undefined when
 * it does not cover the call (then the stock call runs). A route is on while its kernel is registered for the active
 * backend and nobody turned it off.
 */
import * as tf from "@tensorflow/tfjs";

type Inputs = tf.Tensor | tf.Tensor[];
type Kwargs = Record<string, unknown>;

export interface KernelRoute {
  /** Turns the route on or off (on by default; off: the layer's stock call, for comparisons). */
  set(on: boolean): void;
  /** Whether a call on the active backend takes the route. */
  active(): boolean;
}

/** A route that needs `kernelName` on the active backend. */
export function kernelRoute(kernelName: string): KernelRoute {
  let enabled = true;
  return {
    set: (on) => (enabled = on),
    active: () => enabled && tf.getKernel(kernelName, tf.getBackend()) != null,
  };
}

const routed = new Set<string>();

/** Makes every layer of the registered class `className` try `route` before its stock call (idempotent). */
export function routeLayerCall<L>(className: string, route: (layer: L, inputs: Inputs, kwargs: Kwargs) => tf.Tensor | undefined): void {
  if (routed.has(className)) return;
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (entry === undefined) throw new Error(`tfjs-layers has no registered ${className} class`);
  const proto = (entry[0] as unknown as { prototype: { call(inputs: Inputs, kwargs: Kwargs): tf.Tensor | tf.Tensor[] } }).prototype;
  const stockCall = proto.call;
  proto.call = function (this: L, inputs: Inputs, kwargs: Kwargs) {
    return route(this, inputs, kwargs) ?? stockCall.call(this, inputs, kwargs);
  };
  routed.add(className);
}
