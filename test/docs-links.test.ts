import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "../lib/runtime/config";

/** The README a newcomer reads in five minutes: everything else lives in docs/. */
const README_MAX_LINES = 160;

/** The lines of a markdown text outside fenced code blocks, with their 1-based line numbers. */
function proseLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  text.split("\n").forEach((line, i) => {
    const opening = /^\s*(```+|~~~+)/.exec(line);
    if (opening) {
      const marker = (opening[1] as string).slice(0, 3);
      if (fence === undefined) fence = marker;
      else if (marker === fence) fence = undefined;
      return;
    }
    if (fence === undefined) out.push({ line: i + 1, text: line });
  });
  return out;
}

/** A heading's text as GitHub renders it: no inline code marks, emphasis or link targets. */
function headingText(raw: string): string {
  return raw
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`([^`]*)`/g, "$1")
    .replace(/(\*\*|\*)(\S(?:.*?\S)?)\1/g, "$2")
    .trim();
}

/** GitHub's anchor for a heading: lowercase, punctuation removed, each space a hyphen. */
function githubSlug(heading: string): string {
  return headingText(heading)
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor the headings of a markdown text produce (a repeated heading gets -1, -2, ... as on GitHub). */
function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text: line } of proseLines(text)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (!heading) continue;
    const slug = githubSlug(heading[1] as string);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** The link targets of a markdown text outside code: inline links, images and reference definitions. */
function markdownLinks(text: string): { line: number; target: string }[] {
  const links: { line: number; target: string }[] = [];
  for (const { line, text: raw } of proseLines(text)) {
    const prose = raw.replace(/`+[^`]*`+/g, "");
    const definition = /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(prose);
    if (definition) {
      links.push({ line, target: definition[1] as string });
      continue;
    }
    for (const m of prose.matchAll(/\]\(\s*<?([^\s)>]*)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ line, target: m[1] as string });
  }
  return links;
}

/**
 * The relative links of a markdown file that do not resolve: the file or folder they name is missing, or their
 * #anchor is not produced by a heading of the markdown file they point to. Web links are not followed.
 */
function brokenLinks(file: string, root = PROJECT_DIR): string[] {
  const broken: string[] = [];
  const text = fs.readFileSync(file, "utf8");
  for (const { line, target } of markdownLinks(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const where = `${path.relative(root, file)}:${line}: ${target}`;
    const hash = target.indexOf("#");
    const filePart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const resolved =
      filePart === "" ? file : filePart.startsWith("/") ? path.join(root, filePart) : path.resolve(path.dirname(file), filePart);
    if (!fs.existsSync(resolved)) {
      broken.push(`${where} (no such file)`);
      continue;
    }
    if (anchor === undefined || !resolved.endsWith(".md") || !fs.statSync(resolved).isFile()) continue;
    if (!headingAnchors(fs.readFileSync(resolved, "utf8")).has(anchor)) broken.push(`${where} (no heading makes #${anchor})`);
  }
  return broken;
}

/** README.md and every page of docs/. */
function documentationFiles(): string[] {
  const docs = path.join(PROJECT_DIR, "docs");
  return [
    path.join(PROJECT_DIR, "README.md"),
    ...fs
      .readdirSync(docs)
      .filter((f) => f.endsWith(".md"))
      .sort()
      .map((f) => path.join(docs, f)),
  ];
}

describe("documentation: the README and docs/ pages", () => {
  it("every relative link in README.md and docs/*.md names a file that exists and, with #anchor, a heading in it", () => {
    const files = documentationFiles();
    assert.ok(files.length > 1, "docs/ has pages");
    const broken = files.flatMap((f) => brokenLinks(f));
    assert.deepEqual(broken, [], `broken links:\n${broken.join("\n")}`);
  });

  it(`README.md stays short: at most ${README_MAX_LINES} lines`, () => {
    const lines = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8").replace(/\n$/, "").split("\n").length;
    assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines; move the detail to a page of docs/`);
  });

  it("the check itself finds a missing file and an anchor no heading makes, and accepts GitHub's anchors", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workbook-docs-links-"));
    try {
      fs.writeFileSync(
        path.join(dir, "target.md"),
        "# Parity with Keras (`npm run parity`)\n\n## Bad input: **fatal**, skipped\n\n## Notes\n\n## Notes\n\n```\n# not a heading\n```\n",
      );
      fs.writeFileSync(
        path.join(dir, "page.md"),
        [
          "[ok](target.md#parity-with-keras-npm-run-parity) [ok](./target.md#bad-input-fatal-skipped) [ok](target.md#notes-1)",
          "[ok](target.md) [ok](#a-heading-here) [web](https://example.com/x.md#nowhere) `[code](missing.md)`",
          "# A heading here",
          "[missing file](missing.md) ![missing image](img/none.png)",
          "[missing anchor](target.md#not-a-heading) [fenced heading](target.md#not-a-heading-1) [case](target.md#Notes)",
          "```",
          "[inside a fence](missing-too.md)",
          "```",
        ].join("\n"),
      );
      const broken = brokenLinks(path.join(dir, "page.md"), dir).map((b) => b.replace(/ \(.*\)$/, ""));
      assert.deepEqual(broken, [
        "page.md:4: missing.md",
        "page.md:4: img/none.png",
        "page.md:5: target.md#not-a-heading",
        "page.md:5: target.md#not-a-heading-1",
        "page.md:5: target.md#Notes",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
