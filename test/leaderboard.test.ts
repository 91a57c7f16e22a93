import * as assert from "node:assert/strict";
import {
  Contender,
  ContenderRole,
  Leaderboard,
  ScoredContender,
  leaderboardDifference,
  scoreContenders,
  weightedLateFusion,
} from "../lib/eval/leaderboard";
import { leaderboardNarrative, pretrainedNarrative, showLeaderboard } from "../lib/workbook/leaderboard";
import { twoFigureVerdict } from "../lib/workbook/intervals";

const LINEAR_BASELINE_NAME = "TF-IDF + logistic regression";
const TEXT_BRANCH_NAME = "TF-IDF MLP (the joint model's text branch, no poster)";

// Expected values are built by hand from the folds, never from the functions' own output.

/**
 * Hand-made predictions on 200 films of 4 genres, each film with one true genre (film f: genre f % 4). A model is
 * "right" on a film when it gives its true genre 0.9 and the others 0.1; "wrong" when it gives the true genre 0.1
 * and the next genre 0.9. Any threshold in (0.1, 0.9] separates a right model's films, so a model wrong on a
 * share w of each genre's films scores F1 1 - w on every genre at the tuned thresholds (precision and recall are
 * both 1 - w), as long as 1 - w clearly beats predicting the genre for every film (F1 0.4): w <= 0.4 here.
 */
const FILMS = 200;
const GENRES = ["A", "B", "C", "D"];
const G = GENRES.length;
const yTrue = Float32Array.from({ length: FILMS * G }, (_, k) => (k % G === Math.floor(k / G) % G ? 1 : 0));

/** A model wrong on the films `wrong` says are wrong. */
function model(wrong: (film: number) => boolean): Float32Array {
  const p = new Float32Array(FILMS * G).fill(0.1);
  for (let f = 0; f < FILMS; f++) p[f * G + (((f % G) + (wrong(f) ? 1 : 0)) % G)] = 0.9;
  return p;
}
/**
 * Wrong on a share w of each genre's 50 films: the k-th film of a genre is wrong when (k * 37) % 50 < 50 w (37 is
 * prime to 50, so exactly 50 w of them). A larger share's wrong films include a smaller one's.
 */
const share = (w: number) => (f: number) => (Math.floor(f / G) * 37) % 50 < Math.round(50 * w);
/** A film that even a model wrong on 30% of each genre gets right. */
const SPARE = Array.from({ length: FILMS }, (_, f) => f).find((f) => !share(0.3)(f)) as number;
const perfect = model(() => false);
const contender = (name: string, role: ContenderRole, probabilities: Float32Array): Contender => ({ name, role, probabilities });
const board = (rows: Contender[], seed = 5) => scoreContenders(yTrue, GENRES, rows, seed, { resamples: 1000 });
const byName = (b: Leaderboard, name: string) => b.rows.find((r) => r.name === name) as ScoredContender;

describe("leaderboard: cross-fitted scoring and late fusion", () => {
  it("weightedLateFusion picks the weight with the lower BCE on the other half", () => {
    // Model a knows the labels (0.9 / 0.1), model b says 0.5 for everything: on either half the BCE falls as the
    // weight of a grows, so w = 1 on both halves and the fused probabilities are a's.
    const n = 12;
    const genres = 2;
    const yTrue = Float32Array.from({ length: n * genres }, (_, k) => ((k * 7) % 3 === 0 ? 1 : 0));
    const a = yTrue.map((y) => (y ? 0.9 : 0.1));
    const b = new Float32Array(n * genres).fill(0.5);
    const fused = weightedLateFusion(yTrue, a, b, genres, 3);
    assert.deepEqual(fused.weights, [1, 1]);
    fused.probabilities.forEach((p, k) => assert.ok(Math.abs(p - (a[k] as number)) < 1e-6, `cell ${k}`));
  });
});

describe("leaderboard: how sure each row is", () => {
  it("a model that differs from the best on one film of 200 is within noise of it; one wrong on 30% is behind", () => {
    const b = board([
      contender("perfect", "joint", perfect),
      contender(
        "one film off",
        "overview",
        model((f) => f === 17),
      ),
      contender("wrong on 30%", "linear", model(share(0.3))),
    ]);
    const best = byName(b, "perfect");
    for (const m of ["microF1", "macroF1"] as const) {
      assert.equal(best.standing[m].rank, "best", m);
      assert.deepEqual([best.standing[m].interval.low, best.standing[m].interval.estimate, best.standing[m].interval.high], [1, 1, 1], m);
      const close = byName(b, "one film off").standing[m];
      assert.equal(close.rank, "within noise", `${m}: ${JSON.stringify(close)}`);
      assert.ok(close.vsBest && close.vsBest.low < 0 && close.vsBest.high >= 0, JSON.stringify(close.vsBest));
      const far = byName(b, "wrong on 30%").standing[m];
      assert.equal(far.rank, "behind", m);
      // F1 1 - 0.3 = 0.7 on every genre: 0.3 below the best, far outside the noise of 200 films
      assert.ok(Math.abs(far.interval.estimate - 0.7) < 1e-9, `${m} ${far.interval.estimate}`);
      assert.ok(far.vsBest && Math.abs(far.vsBest.estimate + 0.3) < 1e-9 && far.vsBest.high < 0, JSON.stringify(far.vsBest));
    }
    // one film of 200 wrong: one false negative and one false positive, micro F1 = 2 x 199 / (2 x 199 + 2)
    assert.ok(Math.abs(byName(b, "one film off").standing.microF1.interval.estimate - 398 / 400) < 1e-9);
  });

  it("the intervals are seeded: the same seed gives the same leaderboard, another seed other intervals", () => {
    const rows = [contender("a", "poster", model(share(0.2))), contender("b", "overview", model(share(0.25)))];
    const standings = (seed: number) => board(rows, seed).rows.map((r) => r.standing);
    assert.deepEqual(standings(3), standings(3));
    assert.notDeepEqual(standings(3), standings(4));
  });

  it("showLeaderboard writes each tuned F1 with its interval, and 'within noise' of the best only for the row whose difference covers 0", () => {
    const b = board([
      contender("perfect", "joint", perfect),
      contender(
        "one film off",
        "overview",
        model((f) => f === 17),
      ),
      contender("wrong on 30%", "linear", model(share(0.3))),
    ]);
    const lines: string[] = [];
    const log = console.log;
    console.log = (line: string) => lines.push(line);
    try {
      showLeaderboard(b);
    } finally {
      console.log = log;
    }
    const table = lines.join("\n").split("\n");
    const rowOf = (name: string) => table.find((l) => l.startsWith(name)) ?? "";
    assert.match(table[0] as string, /micro F1 tuned \[95%\] +micro F1 vs the best +macro F1 tuned \[95%\] +macro F1 vs the best/);
    assert.match(rowOf("perfect"), /1\.0000 \[1\.0000, 1\.0000\] \* +best +1\.0000 \[1\.0000, 1\.0000\] \* +best/);
    assert.match(rowOf("one film off"), /0\.9950 \[0\.9\d+, 1\.0000\] +within noise: -0\.0050 \[-0\.0\d+, \+0\.0000\]/);
    assert.match(rowOf("wrong on 30%"), /0\.7000 \[0\.6\d+, 0\.7\d+\] +-0\.3000 \[-0\.3\d+, -0\.2\d+\]/);
    assert.doesNotMatch(rowOf("wrong on 30%"), /within noise/);
  });

  it("one verdict on two differences: ahead or behind only where the interval lies on one side of 0", () => {
    const d = (estimate: number, low: number, high: number) => ({ estimate, low, high, withinNoise: low <= 0 && high >= 0 });
    const words = { ahead: "wins", behind: "loses", noise: "ties", mixed: "is mixed" };
    const up = d(0.02, 0.01, 0.03);
    const down = d(-0.02, -0.03, -0.01);
    const noise = d(0.02, -0.01, 0.05);
    assert.equal(twoFigureVerdict(["micro", up], ["macro", up], words), "wins");
    assert.equal(twoFigureVerdict(["micro", down], ["macro", down], words), "loses");
    assert.equal(twoFigureVerdict(["micro", noise], ["macro", d(-0.02, -0.05, 0.01)], words), "ties");
    assert.equal(twoFigureVerdict(["micro", up], ["macro", down], words), "is mixed");
    assert.equal(twoFigureVerdict(["micro", noise], ["macro", up], words), "wins on macro only (micro within noise)");
    assert.equal(twoFigureVerdict(["micro", down], ["macro", noise], words), "loses on micro only (macro within noise)");
  });

  it("leaderboardDifference pairs two rows film by film: identical predictions differ by exactly 0, within noise", () => {
    const b = board([contender("a", "poster", model(share(0.2))), contender("a again", "overview", model(share(0.2)))]);
    const d = leaderboardDifference(b, byName(b, "a"), byName(b, "a again"));
    for (const m of ["microF1", "macroF1", "bce"] as const) {
      assert.deepEqual([d[m].low, d[m].estimate, d[m].high], [0, 0, 0], m);
      assert.equal(d[m].withinNoise, true, m);
    }
  });

  it("leaderboardNarrative: wins where the paired interval lies above 0, within noise where it covers 0, loses below", () => {
    const b = board([
      contender(LINEAR_BASELINE_NAME, "linear", model(share(0.3))),
      contender(
        TEXT_BRANCH_NAME,
        "text-branch",
        model((f) => f === 17),
      ),
      contender(
        "CNN",
        "poster",
        model((f) => share(0.3)(f) || f === SPARE),
      ),
      contender("late", "late", model(share(0.4))),
      contender("joint", "joint", perfect),
    ]);
    const text = leaderboardNarrative(b);
    assert.match(
      text,
      /Against the linear text baseline \(TF-IDF \+ logistic regression\), the joint model wins: macro F1 1\.0000 vs 0\.7000 \(\+0\.3000 \[/,
    );
    assert.match(text, /What the poster adds: .* the poster adds nothing beyond noise\./);
    assert.match(text, /What the poster adds: .*the joint model \+0\.0\d+ \[\+0\.0000, \+0\.0\d+\], within noise macro/);
    assert.match(text, /Against the better single model \(CNN\), the joint model wins/);
    assert.match(text, /Against the better late fusion \(late\), the joint model wins/);
    // late (F1 0.6) is 0.1 below (wrong on 20 more films, right on none more) the baseline: beaten; the CNN is one film worse than the baseline: within noise
    assert.match(text, /the TF-IDF \+ logistic regression baseline is better than: late \(the paired difference's interval lies above 0\)/);
    assert.match(text, /Below the TF-IDF \+ logistic regression baseline on macro F1 \(tuned\), but within noise of it: CNN\./);

    const losing = board([contender(LINEAR_BASELINE_NAME, "linear", perfect), contender("joint", "joint", model(share(0.3)))]);
    assert.match(leaderboardNarrative(losing), /the joint model \*\*loses\*\*: macro F1 0\.7000 vs 1\.0000 \(-0\.3000 \[/);
    const tied = board([
      contender(LINEAR_BASELINE_NAME, "linear", perfect),
      contender(
        "joint",
        "joint",
        model((f) => f === 3),
      ),
    ]);
    assert.match(
      leaderboardNarrative(tied),
      /the joint model is \*\*within noise\*\*: macro F1 0\.99\d+ vs 1\.0000 \(-0\.0\d+ \[-0\.0\d+, \+0\.0000\], within noise\)/,
    );
  });

  it("pretrainedNarrative: beats every earlier model only beyond noise; the poster's and the late fusion's verdicts from the paired bootstrap", () => {
    const rows = (pretrained: Float32Array) => [
      contender(LINEAR_BASELINE_NAME, "linear", model(share(0.3))),
      contender("CNN", "poster", model(share(0.4))),
      contender("joint 05", "joint", model(share(0.2))),
      contender(
        "text head",
        "text-head",
        model((f) => f === 17),
      ),
      contender("poster head", "poster-head", model(share(0.2))),
      contender("late heads", "late-heads", model(share(0.1))),
      contender("pretrained", "pretrained", pretrained),
    ];
    const text = pretrainedNarrative(board(rows(perfect)));
    assert.match(text, /beats every earlier model on both micro and macro F1 \(tuned\), beyond noise: micro 1\.0000, macro 1\.0000/);
    assert.match(text, /best earlier model on macro F1 is joint 05: \+0\.2000 \[\+0\.\d+, \+0\.\d+\] macro, \+0\.2000 \[/);
    assert.match(
      text,
      /with the poster the model gets \+0\.0\d+ \[\+0\.0000, \+0\.0\d+\], within noise micro, .*: the poster adds nothing beyond noise to the text/,
    );
    assert.match(text, /late fusion of the two heads .* the joint model wins: \+0\.1000 \[/);
    assert.match(text, /MobileNetV2's features score micro 0\.8000, macro 0\.8000 against the coursework CNN's 0\.6000 \/ 0\.6000/);

    // the pretrained model one film off joint 05's predictions: not beaten beyond noise; worse than the heads' fusion
    const close = pretrainedNarrative(board(rows(model((f) => share(0.2)(f) || f === SPARE))));
    assert.match(
      close,
      /does \*\*not\*\* beat on both F1s beyond noise: joint 05 \(micro 0\.8000, -0\.0\d+ \[-0\.0\d+, \+0\.0000\], within noise; macro/,
    );
    assert.doesNotMatch(close, /does \*\*not\*\* beat[^\n]*CNN/);
    assert.match(close, /the poster \*\*takes away\*\* from the text/);
    assert.match(close, /late fusion of the two heads .* the joint model \*\*loses\*\*/);
  });
});
