/**
 * The web page's script: lib/app/page.ts and the library code it imports (reading a model folder, decoding a
 * poster, predicting, explaining, the explanation card), bundled for the browser by esbuild from the TypeScript
 * sources, not copied. Node's modules have browser stand-ins here: node:path is POSIX path arithmetic
 * (browser/posix-path.ts), jimp is its core with the JPEG and PNG formats (browser/jimp.ts), pngjs its own browser
 * build, Buffer the `buffer` package and process an empty environment (browser/globals.ts); every other Node-only
 * module (node:fs, danfojs-node, ...) is browser/node-only.ts, which throws when called: the page never calls them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";
import { PROJECT_DIR } from "../runtime/config";

/** Node's built-in modules, by their names with and without "node:". */
const NODE_BUILTINS =
  /^(node:.*|fs|fs\/promises|path|os|util|zlib|stream|assert|crypto|worker_threads|child_process|module|url|http|https|net|tls|events|string_decoder|readline|v8|vm)$/;
/** Packages that only work in Node: the dataset's data frames, the notebook kernel's display, native TensorFlow. */
const NODE_PACKAGES = /^(danfojs-node|tslab(\/.*)?|@tensorflow\/tfjs-node(-gpu)?)$/;

/** Where the bundle's own sources are: the TypeScript of lib/, so the bundle is the library as it is now. */
const SOURCES = path.join(PROJECT_DIR, "lib");
const BROWSER = path.join(SOURCES, "app", "browser");

export interface PageBundle {
  /** The page's script (an ES module). */
  code: string;
  bytes: number;
  /** What took the most room in it: package or lib/ module, bytes, largest first. */
  largest: { input: string; bytes: number }[];
}

/** The ES module build of a package (its package.json "module" field). */
function esModuleOf(name: string): string {
  const manifest = require.resolve(`${name}/package.json`);
  const { module } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { module?: string };
  if (module === undefined) throw new Error(`${name} has no ES module build ("module" in ${manifest})`);
  return path.join(path.dirname(manifest), module);
}

const browserStandIns: esbuild.Plugin = {
  name: "browser-stand-ins",
  setup(build) {
    build.onResolve({ filter: /^(node:)?path$/ }, () => ({ path: path.join(BROWSER, "posix-path.ts") }));
    build.onResolve({ filter: NODE_BUILTINS }, (args) => ({ path: args.path, namespace: "node-only" }));
    build.onResolve({ filter: NODE_PACKAGES }, (args) => ({ path: args.path, namespace: "node-only" }));
    // the library's own "jimp" imports; browser/jimp.ts itself imports jimp's parts
    build.onResolve({ filter: /^jimp$/ }, () => ({ path: path.join(BROWSER, "jimp.ts") }));
    build.onResolve({ filter: /^pngjs$/ }, () => ({ path: require.resolve("pngjs/browser.js") }));
    // One copy of each TensorFlow.js package: its ES module build, also where a CommonJS module require()s it (esbuild
    // would take the package's CommonJS "main" there, a second tfjs-core whose tensors the first cannot use).
    build.onResolve(
      { filter: /^@tensorflow\/tfjs(-core|-layers|-converter|-data|-backend-cpu|-backend-webgl|-backend-wasm)?$/ },
      (args) => ({
        path: esModuleOf(args.path),
      }),
    );
    build.onLoad({ filter: /.*/, namespace: "node-only" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(path.join(BROWSER, "node-only.ts"))}).nodeOnly(${JSON.stringify(args.path)});`,
      loader: "js",
      resolveDir: BROWSER,
    }));
  },
};

/** Bundles the page's script (minified unless `minify` is false). */
export async function bundlePage(options: { minify?: boolean } = {}): Promise<PageBundle> {
  const entry = path.join(SOURCES, "app", "page.ts");
  if (!fs.existsSync(entry)) throw new Error(`${entry} not found: the page's sources are needed to bundle it`);
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: "browser",
    format: "esm",
    target: "es2022",
    // WORKBOOK_APP_DEBUG=1: a readable script with source maps, for the browser's debugger
    minify: options.minify ?? process.env["WORKBOOK_APP_DEBUG"] !== "1",
    sourcemap: process.env["WORKBOOK_APP_DEBUG"] === "1" ? "inline" : false,
    metafile: true,
    logLevel: "silent",
    plugins: [browserStandIns],
    inject: [path.join(BROWSER, "globals.ts")],
    define: { __dirname: '"/"', __filename: '"/index.js"', "process.env.NODE_ENV": '"production"' },
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error("esbuild wrote no bundle");
  const sizes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(Object.values(result.metafile.outputs)[0]?.inputs ?? {})) {
    const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input.replace(/^.*?lib\//, "lib/");
    sizes.set(pkg, (sizes.get(pkg) ?? 0) + bytesInOutput);
  }
  const largest = [...sizes].map(([input, bytes]) => ({ input, bytes })).sort((a, b) => b.bytes - a.bytes);
  return { code: output.text, bytes: output.contents.byteLength, largest };
}
