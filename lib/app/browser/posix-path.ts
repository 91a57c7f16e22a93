/**
 * node:path in the web page: POSIX path arithmetic, which is pure. The library computes a few paths when its modules
 * load (runtime/config.ts PROJECT_DIR and the folders under it); the page reads no file by path, so these paths are
 * only ever names. Bundled in place of node:path by ../bundle.ts.
 */
export const sep = "/";
export const delimiter = ":";

export function isAbsolute(p: string): boolean {
  return p.startsWith("/");
}

export function normalize(p: string): string {
  const absolute = isAbsolute(p);
  const parts: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
    else if (part !== ".." || !absolute) parts.push(part);
  }
  const joined = parts.join("/");
  return absolute ? `/${joined}` : joined || ".";
}

export function join(...parts: string[]): string {
  return normalize(parts.filter((p) => p !== "").join("/"));
}

export function resolve(...parts: string[]): string {
  let path = "";
  for (let i = parts.length - 1; i >= 0 && !isAbsolute(path); i--) path = path === "" ? (parts[i] as string) : `${parts[i]}/${path}`;
  return normalize(isAbsolute(path) ? path : `/${path}`);
}

export function dirname(p: string): string {
  const normal = normalize(p);
  const at = normal.lastIndexOf("/");
  return at < 0 ? "." : at === 0 ? "/" : normal.slice(0, at);
}

export function basename(p: string, ext?: string): string {
  const base = normalize(p).split("/").pop() ?? "";
  return ext !== undefined && base.endsWith(ext) ? base.slice(0, -ext.length) : base;
}

export function extname(p: string): string {
  const base = basename(p);
  const at = base.lastIndexOf(".");
  return at <= 0 ? "" : base.slice(at);
}

export function relative(from: string, to: string): string {
  const a = resolve(from).split("/").filter(Boolean);
  const b = resolve(to).split("/").filter(Boolean);
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return [...a.slice(common).map(() => ".."), ...b.slice(common)].join("/");
}

export const posix = { sep, delimiter, isAbsolute, normalize, join, resolve, dirname, basename, extname, relative };
export default posix;
