/**
 * What notebook 07 shows: heat-map colours on dark and light posters, the card's layout and legend, and the
 * narrative's verdict on Drama's words, each against values worked out by hand.
 */
import * as assert from "node:assert/strict";
import { Jimp } from "jimp";
import type { Dataset, Film } from "../lib/data/dataset";
import type { GenreWord, WordEvidence } from "../lib/eval/explain";
import {
  ModelView,
  explanationCardHtml,
  explanationCardText,
  explanationNarrative,
  heatMapPng,
  highlightedOverviewHtml,
  legendHtml,
} from "../lib/workbook/explanations";

async function pixels(png: Uint8Array): Promise<number[][]> {
  const image = await Jimp.read(Buffer.from(png));
  const out: number[][] = [];
  for (let p = 0; p < image.bitmap.width * image.bitmap.height; p++) out.push(Array.from(image.bitmap.data.subarray(p * 4, p * 4 + 3)));
  return out;
}

describe("explanation display", () => {
  it("tints evidence for a genre red and against it blue, on a black and on a white poster alike", async () => {
    // Four pixels: black, white, black, white; the map: +1, +1, -1, and 0.01 (under 4% of the scale: untinted).
    const poster = { width: 4, height: 1, data: Float32Array.from([0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]) };
    const map = { width: 4, height: 1, values: Float32Array.from([1, 1, -1, 0.01]) };
    const [black, white, against, untinted] = (await pixels(await heatMapPng(poster, map, 1))) as number[][];
    // Full strength: 85% colour over the grey base (black -> 0.25 * 255 = 63.75, white -> 0.75 * 255 = 191.25).
    assert.deepEqual(black, [
      Math.round(63.75 * 0.15 + 214 * 0.85),
      Math.round(63.75 * 0.15 + 39 * 0.85),
      Math.round(63.75 * 0.15 + 40 * 0.85),
    ]);
    assert.ok((white[0] as number) > (white[2] as number) + 100, `white poster, evidence for: ${white}`);
    assert.ok((against[2] as number) > (against[0] as number) + 100, `black poster, evidence against: ${against}`);
    assert.deepEqual(untinted, [191, 191, 191]);
  });

  it("a shared scale: the same value is fainter on a card whose scale is larger", async () => {
    const poster = { width: 1, height: 1, data: Float32Array.from([1, 1, 1]) };
    const map = { width: 1, height: 1, values: Float32Array.from([0.05]) };
    const [own] = (await pixels(await heatMapPng(poster, map))) as number[][];
    const [shared] = (await pixels(await heatMapPng(poster, map, 0.2))) as number[][];
    // Red minus blue grows with the tint's strength.
    assert.ok((own[0] as number) - (own[2] as number) > (shared[0] as number) - (shared[2] as number));
    assert.match(legendHtml(0.05, { posters: true, words: true, gradCam: false }), /changes the genre's probability by 5\.0 points/);
    assert.match(highlightedOverviewHtml(["ghost"], [0.031], 0.05), /title="removing it lowers the genre's probability by 3\.1 points"/);
  });

  it("the card keeps the poster's aspect ratio and lays out one row per genre, one column per model", () => {
    const html = explanationCardHtml(
      { id: "tt1", genres: ["Horror"], overview: "A ghost.", posterPng: new Uint8Array([1]) },
      ["Horror", "Comedy"],
      [
        {
          model: "cnn",
          probabilities: [0.7, 0.2],
          genres: [
            { genre: "Horror", posters: [] },
            { genre: "Comedy", posters: [] },
          ],
        },
        { model: "lstm", probabilities: [0.6, 0.3], genres: [{ genre: "Horror", posters: [], overviewHtml: "ghost" }] },
      ],
      { scale: 0.1 },
    );
    assert.match(html, /<img [^>]*style="width:100px;height:auto;flex:none/);
    assert.equal((html.match(/<tr>/g) ?? []).length, 3); // the header and two genres
    assert.equal((html.match(/<th /g) ?? []).length, 3); // the genre column and two models
    assert.match(html, /probability by 10\.0 points/);
  });

  it("the legend explains only what the card shows: no poster or Grad-CAM for a text model, no words for a poster model", () => {
    const genres = ["Horror", "Comedy"];
    const card = (views: ModelView[]) =>
      explanationCardHtml({ id: "tt1", genres: ["Horror"], overview: "A ghost." }, genres, views, { scale: 0.1 });
    const png = new Uint8Array([1]);
    const text = card([{ model: "lstm", probabilities: [0.6, 0.3], genres: [{ genre: "Horror", posters: [], overviewHtml: "ghost" }] }]);
    assert.match(text, /full colour: removing that word changes the genre's probability by 10\.0 points/);
    assert.doesNotMatch(text, /poster|Grad-CAM/);
    const poster = card([
      {
        model: "cnn",
        probabilities: [0.7, 0.2],
        genres: [
          {
            genre: "Horror",
            posters: [
              { png, method: "occlusion" },
              { png, method: "Grad-CAM" },
            ],
          },
        ],
      },
    ]);
    assert.match(poster, /full colour: hiding that part of the poster changes the genre's probability by 10\.0 points/);
    assert.match(poster, /Grad-CAM: where the CNN's last conv layer supports the genre/);
    assert.doesNotMatch(poster, /word/);
    const both = card([
      {
        model: "fusion",
        probabilities: [0.7, 0.2],
        genres: [{ genre: "Horror", posters: [{ png, method: "occlusion" }], overviewHtml: "ghost" }],
      },
    ]);
    assert.match(both, /hiding that part of the poster or removing that word changes/);
    assert.doesNotMatch(both, /Grad-CAM/);
  });

  it("a film given without its genres (npm run explain): the true genres are unknown, and no top genre is marked right or wrong", () => {
    const views: ModelView[] = [{ model: "cnn", probabilities: [0.7, 0.2, 0.1], genres: [{ genre: "Horror", posters: [] }] }];
    const genres = ["Horror", "Comedy", "Drama"];
    const unknown = explanationCardHtml({ id: "poster.jpg", overview: "" }, genres, views);
    assert.match(unknown, /poster\.jpg<\/b> &mdash; true genres: <b>unknown<\/b> \(none were given with the film\)/);
    assert.doesNotMatch(unknown, /none<\/b>/);
    assert.doesNotMatch(unknown, /&#10007;|&#10003;/, "no cross and no tick without the true genres");
    assert.match(unknown, /<span [^>]*>Horror 0\.70<\/span> <span [^>]*>Comedy 0\.20<\/span> <span [^>]*>Drama 0\.10<\/span>/);
    assert.match(unknown, /<b>Horror<\/b><div [^>]*>explained<\/div>/);
    assert.equal(
      explanationCardText({ id: "poster.jpg" }, genres, views),
      "poster.jpg: true genres unknown (none were given with the film)\n  cnn: Horror 0.70, Comedy 0.20, Drama 0.10",
    );
    // a film of the dataset that has no genre: "none", and every top genre is wrong
    const none = explanationCardHtml({ id: "tt1", genres: [], overview: "" }, genres, views);
    assert.match(none, /true genres: <b>none<\/b>/);
    assert.equal((none.match(/&#10007;/g) ?? []).length, 3);
    assert.equal(
      explanationCardText({ id: "tt1", genres: ["Comedy"] }, genres, views),
      "tt1: true genres Comedy\n  cnn: Horror 0.70, Comedy 0.20, Drama 0.10",
    );
    const known = explanationCardHtml({ id: "tt1", genres: ["Comedy"], overview: "" }, genres, views);
    assert.match(known, /&#10007; Horror 0\.70<\/span> <span [^>]*>&#10003; Comedy 0\.20/);
  });

  it("the narrative says Drama's words are generic when its five most specific words are in more overviews", () => {
    const film = (i: number, overview: string): Film => ({ id: `tt${i}`, line: i + 2, overview, genres: [], posterFile: "" });
    // "life" is in 3 of 4 overviews, "ghost" and "clown" in one each.
    const dataset = {
      genres: ["Drama", "Horror", "Comedy"],
      films: [film(0, "A life."), film(1, "Life and a ghost."), film(2, "A life, a clown."), film(3, "Nothing.")],
    } as unknown as Dataset;
    const word = (w: string, specificity: number): GenreWord => ({ word: w, films: 3, effect: specificity, specificity });
    const evidence = (drama: string): WordEvidence => ({
      model: "m",
      films: 4,
      minFilms: 1,
      genreFilms: new Map(),
      words: new Map([
        ["Drama", [word(drama, 0.05)]],
        ["Horror", [word("ghost", 0.04)]],
        ["Comedy", [word("clown", 0.03)]],
      ]),
      stopWords: new Map([["Drama", [word("a", 0.01)]]]),
    });
    // Drama: life (75%) and the stop-word a (75%): mean 75%; the others 25% each.
    assert.match(
      explanationNarrative(undefined, evidence("life"), dataset),
      /\(life, a; 1 of them stop-words\) appear in 75\.0%.*in 25\.0% \(median over 2 genres\).*holds/,
    );
    // With "nothing" (25%) Drama's mean is 50%: still above 25%; with only a rare word and no stop-word it is not.
    const rare = { ...evidence("nothing"), stopWords: new Map() };
    assert.match(explanationNarrative(undefined, rare, dataset), /\*\*not\*\* more generic/);
  });

  it("the narrative says why a claim is not checked instead of leaving the section empty", () => {
    const dataset = { genres: ["Drama", "Horror"], films: [] } as unknown as Dataset;
    // Only the CNN trained (no word evidence), and no Horror film among the sampled ones.
    const comedyOnly = {
      genres: [{ genre: "Comedy", films: 2, map: { width: 1, height: 1, values: new Float32Array(1) }, luminance: 0, darkerShare: 0 }],
    };
    const lines = explanationNarrative(comedyOnly, undefined, dataset).split("\n");
    assert.equal(lines.length, 2);
    assert.match(
      lines[0]!,
      /Horror and dark posters.*Not checked: none of the sampled validation films is Horror \(raise `aggregateFilms`\)/,
    );
    assert.match(lines[1]!, /Drama's words.*Not checked: no model that reads overviews is trained/);
    assert.match(explanationNarrative(undefined, undefined, dataset), /Not checked: no model that reads posters is trained/);
  });
});
