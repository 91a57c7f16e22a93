/**
 * What a Node-only module (node:fs, node:os, danfojs-node, ...) is in the web page. The page runs the library's own
 * code for reading a model folder (over HTTP: ../http-folder.ts), decoding a poster, predicting and explaining; the
 * modules that hold it also hold code for training, datasets and caches that uses Node, which the page never calls.
 * ../bundle.ts bundles this in place of those modules, so that a call the page should not make fails loudly, naming
 * what was called, instead of the bundle failing to build. The page has no disk: existsSync says false (what
 * runtime/config.ts asks when it loads, to find the project folder); everything else throws.
 */
type Member = ((...args: unknown[]) => unknown) & { [name: string]: Member };

function member(name: string): Member {
  const fail = () => {
    throw new Error(`${name} is Node-only and not available in the web page (the page reads its files over HTTP)`);
  };
  return new Proxy(fail as unknown as Member, {
    get: (_target, key) => (typeof key === "string" ? member(`${name}.${key}`) : undefined),
    apply: fail,
    construct: fail,
  });
}

/** The module `name` as the page sees it: any member is a function that throws, naming it; existsSync is false. */
export function nodeOnly(name: string): object {
  const members = new Proxy(
    {},
    { get: (_target, key) => (key === "existsSync" ? () => false : typeof key === "string" ? member(`${name}.${key}`) : undefined) },
  );
  // esbuild's interop copies a CommonJS module's own properties and keeps its prototype: the members sit there
  return Object.create(members) as object;
}
