#!/usr/bin/env node
/**
 * Strips a notebook to what belongs in git: no outputs, no execution counts, no trust signature, keys in
 * nbformat's sorted order. The tracked notebooks are kept this way:
 *
 *   node jupyter/strip-notebook.js < in.ipynb > out.ipynb    the git "clean" filter (.gitattributes; npm ci
 *                                                           configures it as filter.strip-notebook-outputs)
 *   node jupyter/strip-notebook.js notebooks/*.ipynb         rewrite files in place (npm run strip-notebooks)
 *   node jupyter/strip-notebook.js --check notebooks/*.ipynb exit 1 naming the files that are not stripped
 */
"use strict";
const fs = require("node:fs");

function strip(nb) {
  for (const cell of nb.cells ?? []) {
    if (cell.cell_type === "code") {
      cell.outputs = [];
      cell.execution_count = null;
    }
    if (cell.metadata) for (const key of ["execution", "collapsed", "scrolled"]) delete cell.metadata[key];
  }
  if (nb.metadata) for (const key of ["signature", "widgets"]) delete nb.metadata[key];
  return nb;
}

/** JSON as nbformat writes it: sorted keys, one-space indent, a final newline. */
function canonical(value) {
  const sorted = (v) =>
    Array.isArray(v) ? v.map(sorted) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v;
  return `${JSON.stringify(sorted(value), null, 1)}\n`;
}

function stripped(text) {
  return canonical(strip(JSON.parse(text)));
}

function main(args) {
  if (args.length === 0) {
    process.stdout.write(stripped(fs.readFileSync(0, "utf8")));
    return 0;
  }
  const check = args[0] === "--check";
  const files = check ? args.slice(1) : args;
  const dirty = [];
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    const clean = stripped(text);
    if (clean === text) continue;
    if (check) dirty.push(file);
    else fs.writeFileSync(file, clean);
  }
  if (dirty.length > 0) {
    process.stderr.write(`notebooks with outputs or not in canonical form: ${dirty.join(", ")}\nrun: npm run strip-notebooks\n`);
    return 1;
  }
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
module.exports = { strip, canonical, stripped };
