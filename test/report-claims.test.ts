import * as assert from "node:assert/strict";
import type { Dataset, Film } from "../lib/data/dataset";
import type { GenreEvidence, GenreWord, WordEvidence } from "../lib/eval/explain";
import { checkReportClaims, documentShare, upperMedian } from "../lib/eval/report-claims";

// Every expected figure is worked out by hand in the comments, never taken from the functions' own output.

const near = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} vs ${expected}`);

const map = { width: 1, height: 1, values: new Float32Array(1) };
const genre = (name: string, films: number, luminance: number, darkerShare: number): GenreEvidence => ({
  genre: name,
  films,
  map,
  luminance,
  darkerShare,
});

const film = (i: number, overview: string): Film => ({ id: `tt${i}`, line: i + 2, overview, genres: [], posterFile: "" });
// Words by the share of these five overviews that hold them: a 4/5; life 3/5; love 2/5; of, and, ghost, clown, is,
// war, nothing 1/5 each (tokenized: lower case, punctuation stripped).
const DATASET = {
  genres: ["Drama", "Horror", "Comedy", "War", "Romance"],
  films: [
    film(0, "A life of love."),
    film(1, "Life and a ghost."),
    film(2, "A life, a clown."),
    film(3, "Love is a war."),
    film(4, "Nothing."),
  ],
} as unknown as Dataset;
const word = (w: string, specificity: number): GenreWord => ({ word: w, films: 2, effect: specificity, specificity });

function wordEvidence(words: [string, GenreWord[]][], stopWords: [string, GenreWord[]][]): WordEvidence {
  return { model: "m", films: 5, minFilms: 1, genreFilms: new Map(), words: new Map(words), stopWords: new Map(stopWords) };
}

describe("the reports' claims checked against a run's attributions (eval/report-claims.ts)", () => {
  it("documentShare: the share of the documents that hold the word", () => {
    const documents = [new Set(["a", "life"]), new Set(["a"]), new Set(["life", "love"]), new Set(["war"])];
    near(documentShare(documents, "a"), 2 / 4, "a");
    near(documentShare(documents, "life"), 2 / 4, "life");
    near(documentShare(documents, "war"), 1 / 4, "war");
    near(documentShare(documents, "ghost"), 0, "ghost");
  });

  it("upperMedian: the middle value; of an even count, the upper of the two middle ones", () => {
    assert.equal(upperMedian([0.3, 0.1, 0.2]), 0.2);
    assert.equal(upperMedian([0.4, 0.1, 0.3, 0.2]), 0.3);
    assert.equal(upperMedian([5]), 5);
  });

  it("Horror and dark posters: Horror's figures, the other genres' mean luminance difference, and whether Horror is darker than both", () => {
    // Others: (0.02 + -0.04) / 2 = -0.01. Horror -0.10 is below 0 and below -0.01: holds.
    const dark = checkReportClaims(
      { genres: [genre("Comedy", 3, 0.02, 0.2), genre("Horror", 4, -0.1, 0.75), genre("Drama", 5, -0.04, 0.6)] },
      undefined,
      DATASET,
    ).darkHorror;
    assert.ok(dark.checked);
    assert.equal(dark.films, 4);
    near(dark.luminance, -0.1, "Horror's luminance");
    near(dark.darkerShare, 0.75, "Horror's darker share");
    near(dark.othersMean, -0.01, "the other genres' mean");
    assert.equal(dark.holds, true);
    // Horror -0.01 is darker than its posters but lighter than the others' mean (-0.05 + -0.03) / 2 = -0.04: does not hold.
    const lighter = checkReportClaims(
      { genres: [genre("Horror", 2, -0.01, 0.5), genre("War", 2, -0.05, 1), genre("Drama", 2, -0.03, 1)] },
      undefined,
      DATASET,
    ).darkHorror;
    assert.ok(lighter.checked);
    near(lighter.othersMean, -0.04, "the other genres' mean");
    assert.equal(lighter.holds, false);
  });

  it("Drama's words: the mean share of overviews holding its five most specific words against the other genres' median", () => {
    // Drama by specificity: life .09, love .08, "life love" .07 (a phrase: left out after the top five is taken),
    // a .05 (stop-word), of .02 (stop-word), nothing .01 (sixth: not taken). Its words: life, love, a, of; their
    // shares 3/5, 2/5, 4/5, 1/5: mean 0.5; 2 stop-words.
    // Horror: ghost 1/5 -> 0.2. Comedy: clown 1/5, love 2/5 -> 0.3. War: war 1/5 -> 0.2. Romance: no word, not counted.
    // The others' median of [0.2, 0.2, 0.3] is 0.2, over 3 genres; 0.5 > 0.2: holds.
    const evidence = wordEvidence(
      [
        ["Drama", [word("life", 0.09), word("love", 0.08), word("life love", 0.07), word("nothing", 0.01)]],
        ["Horror", [word("ghost", 0.04)]],
        ["Comedy", [word("clown", 0.05), word("love", 0.04)]],
        ["War", [word("war", 0.03)]],
      ],
      [["Drama", [word("a", 0.05), word("of", 0.02)]]],
    );
    const drama = checkReportClaims(undefined, evidence, DATASET).genericDrama;
    assert.ok(drama.checked);
    assert.deepEqual(drama.words, ["life", "love", "a", "of"]);
    assert.equal(drama.stopWords, 2);
    near(drama.share, 0.5, "Drama's mean share");
    near(drama.othersMedian, 0.2, "the others' median");
    assert.equal(drama.otherGenres, 3);
    assert.equal(drama.holds, true);
    // Drama with only "nothing" (1/5 = 0.2): not above the median 0.2.
    const rare = checkReportClaims(
      undefined,
      wordEvidence(
        [
          ["Drama", [word("nothing", 0.01)]],
          ["Horror", [word("ghost", 0.04)]],
          ["Comedy", [word("clown", 0.05), word("love", 0.04)]],
          ["War", [word("war", 0.03)]],
        ],
        [],
      ),
      DATASET,
    ).genericDrama;
    assert.ok(rare.checked);
    near(rare.share, 0.2, "Drama's mean share");
    assert.equal(rare.holds, false);
  });

  it("says why a claim is not checked", () => {
    const claims = checkReportClaims(undefined, undefined, DATASET);
    assert.deepEqual(claims.darkHorror, { checked: false, why: "no poster model" });
    assert.deepEqual(claims.genericDrama, { checked: false, why: "no overview model" });
    assert.deepEqual(checkReportClaims({ genres: [genre("Comedy", 1, 0, 0)] }, undefined, DATASET).darkHorror, {
      checked: false,
      why: "no Horror film",
    });
    const noDrama = wordEvidence([["Horror", [word("ghost", 0.04)]]], []);
    assert.deepEqual(checkReportClaims(undefined, noDrama, DATASET).genericDrama, { checked: false, why: "Drama has no ranked word" });
    const onlyDrama = wordEvidence([["Drama", [word("life", 0.04)]]], []);
    assert.deepEqual(checkReportClaims(undefined, onlyDrama, DATASET).genericDrama, {
      checked: false,
      why: "no other genre has ranked words",
    });
  });
});
