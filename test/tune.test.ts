import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  Evaluate,
  SearchPlan,
  TUNE_JSON,
  Trial,
  bestTrial,
  halvingRungs,
  newSearch,
  openSearch,
  runSearch,
  trialStatus,
} from "../lib/tune/search";
import { applySettings, sampleSettings, validateSpace } from "../lib/tune/space";
import { PRETRAINED_PRESETS } from "../lib/kinds/presets";
import { DefaultCheck, defaultCheck, tuneNarrative } from "../lib/workbook/tune";

const PLAN: SearchPlan = {
  kind: "pretrained",
  preset: "smoke",
  space: { learningRate: { logRange: [1e-4, 1e-2] }, dropout: { range: [0, 0.6] } },
  trials: 9,
  minEpochs: 1,
  maxEpochs: 9,
  eta: 3,
  method: "halving",
  seed: 7,
};

/** A synthetic objective: the loss falls with the epochs towards |log10(lr) + 3| + dropout / 10. */
function objective(trial: Trial, epochs: number): number {
  const lr = trial.settings["learningRate"] as number;
  const dropout = trial.settings["dropout"] as number;
  return Math.abs(Math.log10(lr) + 3) + dropout / 10 + 1 / epochs;
}

function synthetic(calls: string[] = [], minutesPerEpoch = 0.01): Evaluate {
  return async (trial, rung, epochs) => {
    calls.push(`${trial.id}@${rung}`);
    return {
      bestValLoss: objective(trial, epochs),
      bestEpoch: epochs,
      microF1: null,
      macroF1: null,
      minutes: minutesPerEpoch * epochs,
      dir: `/nowhere/${trial.id}/e${epochs}`,
      curve: Array.from({ length: epochs }, (_, i) => ({ epoch: i + 1, loss: 1, val_loss: 1 })),
    };
  };
}

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "tune-test-"));
const quiet = { log: () => undefined };

describe("tune: successive halving on a synthetic objective", () => {
  it("plans the rungs: n trials at minEpochs, then the best ceil(n / eta) at eta times the epochs, up to maxEpochs", () => {
    assert.deepEqual(halvingRungs(PLAN), [
      { epochs: 1, trials: 9 },
      { epochs: 3, trials: 3 },
      { epochs: 9, trials: 1 },
    ]);
    assert.deepEqual(halvingRungs({ ...PLAN, trials: 10, minEpochs: 2, maxEpochs: 12 }), [
      { epochs: 2, trials: 10 },
      { epochs: 6, trials: 4 },
      { epochs: 12, trials: 2 },
    ]);
    assert.deepEqual(halvingRungs({ ...PLAN, method: "random" }), [{ epochs: 9, trials: 9 }]);
  });

  it("promotes exactly the best third of each rung by validation loss, and names the best trial", async () => {
    const calls: string[] = [];
    const state = await runSearch(tempDir(), newSearch(PLAN), synthetic(calls), { events: quiet });
    // expected by hand: rank the nine trials by the objective at 1 epoch (the 1/epochs term is the same for all)
    const ranked = [...state.trials].sort((a, b) => objective(a, 1) - objective(b, 1)).map((t) => t.id);
    assert.deepEqual(
      calls.filter((c) => c.endsWith("@0")),
      state.trials.map((t) => `${t.id}@0`),
    );
    assert.deepEqual(
      calls.filter((c) => c.endsWith("@1")).sort(),
      ranked
        .slice(0, 3)
        .map((id) => `${id}@1`)
        .sort(),
    );
    assert.deepEqual(
      calls.filter((c) => c.endsWith("@2")),
      [`${ranked[0]}@2`],
    );
    assert.equal(calls.length, 13);
    assert.equal(bestTrial(state)?.trial.id, ranked[0]);
    assert.equal(
      trialStatus(
        state,
        state.trials.find((t) => t.id === ranked[0])!,
      ),
      "done",
    );
    assert.equal(
      trialStatus(
        state,
        state.trials.find((t) => t.id === ranked[1])!,
      ),
      "not promoted",
    );
    assert.equal(
      trialStatus(
        state,
        state.trials.find((t) => t.id === ranked[8])!,
      ),
      "not promoted",
    );
  });

  it("the same seed gives the same trials; another seed other trials; values stay in their ranges", () => {
    assert.deepEqual(newSearch(PLAN).trials, newSearch(PLAN).trials);
    assert.notDeepEqual(newSearch({ ...PLAN, seed: 8 }).trials, newSearch(PLAN).trials);
    for (const trial of newSearch({ ...PLAN, trials: 50 }).trials) {
      const lr = trial.settings["learningRate"] as number;
      const dropout = trial.settings["dropout"] as number;
      assert.ok(lr >= 1e-4 && lr <= 1e-2, `learning rate ${lr}`);
      assert.ok(dropout >= 0 && dropout <= 0.6, `dropout ${dropout}`);
    }
    const integers = Array.from(
      { length: 200 },
      (_, i) => sampleSettings({ units: { range: [2, 4], integer: true } }, () => i / 200)["units"],
    );
    assert.deepEqual([...new Set(integers)].sort(), [2, 3, 4]);
  });

  it("an interrupted search continues where it stopped, without evaluating a finished trial again", async () => {
    const dir = tempDir();
    const first: string[] = [];
    const evaluate = synthetic(first);
    let n = 0;
    const interrupting: Evaluate = async (trial, rung, epochs) => (++n === 5 ? undefined : evaluate(trial, rung, epochs));
    const stopped = await runSearch(dir, newSearch(PLAN), interrupting, { events: quiet });
    assert.match(stopped.stopped ?? "", /interrupted during trial-5 at 1 epoch/);
    assert.equal(first.length, 4);

    const lines: string[] = [];
    const resumed = await openSearch(dir, PLAN, (l) => lines.push(l));
    assert.match(lines[0] as string, /continuing the search .*: 4 evaluation\(s\) of 9 trials already done are kept/);
    const second: string[] = [];
    const finished = await runSearch(dir, resumed, synthetic(second), { events: quiet });
    assert.equal(finished.stopped, undefined);
    assert.equal(second.length, 13 - 4);
    for (const call of first) assert.ok(!second.includes(call), `${call} was trained again`);

    await assert.rejects(openSearch(dir, { ...PLAN, trials: 10 }), /holds another search .*give this search another name, or delete/);
    assert.ok(fs.existsSync(path.join(dir, TUNE_JSON)));
  });

  it("the narrative says at which epoch the best loss came and whether early stopping ended the run", async () => {
    // The best trial's last rung (9 epochs) stops early: 5 epochs run, the best at epoch 3.
    const earlyStop: Evaluate = async (trial, rung, epochs) => {
      const full = (await synthetic()(trial, rung, epochs))!; // the synthetic objective always evaluates
      return epochs === 9 ? { ...full, bestEpoch: 3, curve: full.curve.slice(0, 5) } : full;
    };
    const state = await runSearch(tempDir(), newSearch(PLAN), earlyStop, { events: quiet });
    const check = {
      rows: [
        ["default", 40, 0.5, 0.4, 0.2],
        ["best", 40, 0.5, 0.4, 0.2],
      ],
    } as unknown as DefaultCheck;
    assert.match(
      tuneNarrative(state, check),
      /reached a validation loss of [\d.]+ at epoch 3 of 5 \(stopped early; the rung allowed 9\)\./,
    );
  });

  describe("the winner against the default: differences by the paired bootstrap", () => {
    // 200 films of 4 genres, each with one true genre (film f: genre f % 4). A model is right on a film when it gives
    // the true genre 0.9 and the others 0.1, wrong when it gives the true genre 0.1 and the next genre 0.9.
    const FILMS = 200;
    const GENRES = ["A", "B", "C", "D"];
    const G = GENRES.length;
    const yTrue = Float32Array.from({ length: FILMS * G }, (_, k) => (k % G === Math.floor(k / G) % G ? 1 : 0));
    const model = (name: string, wrong: (film: number) => boolean) => {
      const p = new Float32Array(FILMS * G).fill(0.1);
      for (let f = 0; f < FILMS; f++) p[f * G + (((f % G) + (wrong(f) ? 1 : 0)) % G)] = 0.9;
      return { name, role: "pretrained" as const, probabilities: p };
    };
    const narrative = async (check: DefaultCheck) =>
      tuneNarrative(await runSearch(tempDir(), newSearch(PLAN), synthetic(), { events: quiet }), check);

    it("a winner whose predictions differ from the default's on one film of 200 is within noise of it", async () => {
      const check = defaultCheck(yTrue, GENRES, [model("default", () => false), model("best", (f) => f === 17)], 7);
      for (const m of ["microF1", "macroF1", "bce"] as const) assert.equal(check.difference?.[m].withinNoise, true, m);
      assert.match(check.rows[2]?.[2] as string, /^-0\.0050 \[-0\.\d+, \+0\.0000\] within noise$/);
      const text = await narrative(check);
      assert.match(text, /micro F1 0\.9950 vs 1\.0000 \(-0\.0050 \[-0\.\d+, \+0\.0000\], within noise\)/);
      assert.match(text, /on these films the winner is \*\*within noise\*\* of the default/);
    });

    it("a winner right on every film against a default wrong on 30% of them is ahead on every figure, beyond noise", async () => {
      const check = defaultCheck(yTrue, GENRES, [model("default", (f) => (f * 37) % 100 < 30), model("best", () => false)], 7);
      assert.ok(check.difference && check.difference.microF1.low > 0 && check.difference.bce.high < 0, JSON.stringify(check.difference));
      const text = await narrative(check);
      assert.match(text, /micro F1 1\.0000 vs 0\.7000 \(\+0\.3000 \[\+0\.\d+, \+0\.\d+\]\)/);
      assert.match(text, /the winner is ahead on micro F1, macro F1, validation BCE\./);
      assert.doesNotMatch(text, /within noise/);
      const behind = await narrative(
        defaultCheck(yTrue, GENRES, [model("default", () => false), model("best", (f) => (f * 37) % 100 < 30)], 7),
      );
      assert.match(behind, /the winner is \*\*behind\*\* on micro F1, macro F1, validation BCE\./);
    });
  });

  it("keeps to a budget in minutes: no evaluation starts that would take the search past it", async () => {
    const calls: string[] = [];
    // 1 minute per epoch: rung 0 costs 9 minutes, a rung-1 evaluation 3
    const state = await runSearch(tempDir(), newSearch(PLAN), synthetic(calls, 1), { minutes: 13, events: quiet });
    const spent = state.trials.flatMap((t) => t.evaluations).reduce((m, e) => m + e.minutes, 0);
    assert.equal(spent, 12);
    assert.equal(calls.length, 10);
    assert.match(state.stopped ?? "", /budget: 12\.0 of 13 minutes spent, and trial-\d at 3 epoch\(s\) would take about 3\.0 more/);
  });
});

describe("tune: the search space", () => {
  const settings = PRETRAINED_PRESETS.smoke;

  it("accepts choices, ranges and log ranges of existing settings, nested ones by dotted path", () => {
    validateSpace(
      {
        learningRate: { logRange: [1e-4, 1e-2] },
        "text.dropout": { range: [0, 0.6] },
        units: { choice: [64, 128] },
        fusion: { choice: ["gmu", "concat"] },
      },
      settings,
      "pretrained",
    );
  });

  it("refuses an unknown setting, epochs, empty choices, an empty range, a log range from 0 and a wrong type, naming each", () => {
    const refused = (space: object, message: RegExp) => assert.throws(() => validateSpace(space as never, settings, "pretrained"), message);
    refused({}, /the search space for pretrained is empty/);
    refused(
      { learningRat: { logRange: [1e-4, 1e-2] } },
      /'learningRat': pretrained has no such setting; its settings are .*learningRate.*text\.dropout/,
    );
    refused({ epochs: { choice: [2, 4] } }, /'epochs': the epochs are set by the search's rungs/);
    refused({ seed: { choice: [1, 2] } }, /'seed': the split stays the same for every trial/);
    refused({ units: { choice: [] } }, /'units': an empty list of choices/);
    refused({ dropout: { range: [0.5, 0.5] } }, /'dropout': an empty range \[0\.5, 0\.5\]/);
    refused({ learningRate: { logRange: [0, 1e-2] } }, /'learningRate': a log range must be above 0/);
    refused({ fusion: { choice: [1, 2] } }, /'fusion': choices \[1,2\] are not of the setting's type \(string/);
    refused({ fusion: { range: [0, 1] } }, /'fusion': a range for a setting that is not a number/);
    refused({ text: { choice: [1] } }, /'text': pretrained has no such setting/);
  });

  it("applySettings sets nested values on a copy", () => {
    const changed = applySettings(settings, { "text.dropout": 0.25, learningRate: 0.003 });
    assert.equal(changed.text.dropout, 0.25);
    assert.equal(changed.learningRate, 0.003);
    assert.equal(settings.text.dropout, 0.5, "the preset is unchanged");
  });
});
