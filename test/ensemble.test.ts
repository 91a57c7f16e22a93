/**
 * Ensemble model folders (models/ensemble-folder.ts, kinds/ensemble.ts) made by hand (./ensemble-folders.ts): two linear folds with known
 * weights, each with its own TF-IDF (fitted on other overviews, as each fold fits its own on its training films). The
 * ensemble's probabilities are checked against the mean of the two folds' sigmoid(w.x + b) worked out here, and each
 * damaged copy is refused with its whole message, written out by hand.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TfidfVectorizer } from "../lib/data/tfidf";
import { explainable } from "../lib/eval/attribution";
import { predictFilm } from "../lib/eval/inference";
import { kindSpec, loadModel, modelName } from "../lib/kinds/registry";
import { HELD_OUT, TRAIN_IDS, handMean, ids, writeEnsemble } from "./ensemble-folders";
import { useBackend } from "./helpers";
import { TINY_GENRES, editJson, refused, writeTinyFolder } from "./model-folders";

describe("ensemble model folders: the mean of their folds, checked like any model folder", function () {
  this.timeout(60000);
  useBackend("cpu");
  let root: string;
  let valid: string;
  let tfidfs: TfidfVectorizer[];
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "ensemble-"));
    valid = path.join(root, "valid");
    tfidfs = await writeEnsemble(valid);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("predicts the mean of its folds' probabilities, each fold reading the overview through its own TF-IDF", async () => {
    const ensemble = await loadModel(valid);
    assert.equal(ensemble.folds?.length, 2);
    assert.deepEqual(ensemble.thresholds?.thresholds, [0.35, 0.45, 0.55]);
    assert.equal(modelName(ensemble), "TF-IDF + logistic regression, 2-fold ensemble");
    assert.equal(kindSpec(ensemble).role, kindSpec("linear").role);
    for (const overview of ["a ghost in the desert", "war at the circus", "a house"]) {
      const expected = handMean(tfidfs, overview);
      // the two folds disagree, so the mean is not either one's
      assert.ok(Math.abs(handMean([tfidfs[0] as TfidfVectorizer], overview)[0]! - expected[0]!) > 1e-3);
      const got = await predictFilm(ensemble, { overview }, () => undefined);
      expected.forEach((p, g) =>
        assert.ok(Math.abs((got[g] as number) - p) < 1e-6, `${overview}, ${TINY_GENRES[g]}: ${got[g]} against ${p}`),
      );
    }
    // explanations see the same mean: leaving words out of the overview
    const explained = await explainable(ensemble, { overview: "a ghost in the desert" });
    const variants = ["ghost in the desert", "a in the desert"];
    const rows = await (explained.overviews as (v: readonly string[]) => Promise<Float32Array>)(variants);
    variants.forEach((v, i) =>
      handMean(tfidfs, v).forEach((p, g) => assert.ok(Math.abs((rows[i * 3 + g] as number) - p) < 1e-6, `${v}, genre ${g}`)),
    );
    ensemble.model.dispose();
  });

  let copies = 0;
  function copy(): string {
    const dir = path.join(root, `damaged-${++copies}`);
    fs.cpSync(valid, dir, { recursive: true });
    return dir;
  }

  it("a missing fold, or a fold more than it counts, is refused naming info.json's ensemble.folds", async () => {
    const missing = copy();
    fs.rmSync(path.join(missing, "fold-2"), { recursive: true });
    await refused(
      missing,
      `${missing}/info.json: ensemble.folds is 2; expected as many folds as the fold-<i> folders in ${missing} (1: fold-1)`,
    );
    const extra = copy();
    fs.cpSync(path.join(extra, "fold-2"), path.join(extra, "fold-3"), { recursive: true });
    await refused(
      extra,
      `${extra}/info.json: ensemble.folds is 2; expected as many folds as the fold-<i> folders in ${extra} (3: fold-1, fold-2, fold-3)`,
    );
  });

  it("a fold count against its members, or out of bounds, is refused", async () => {
    const three = copy();
    editJson(path.join(three, "info.json"), (info) => ((info["ensemble"] as Record<string, unknown>)["folds"] = 3));
    await refused(three, `${three}/info.json: ensemble.members is a list of 2; expected a list of 3 folds (ensemble.folds)`);
    const huge = copy();
    editJson(path.join(huge, "info.json"), (info) => ((info["ensemble"] as Record<string, unknown>)["folds"] = 1e9));
    await refused(huge, `${huge}/info.json: ensemble.folds is 1000000000; expected an integer from 2 to 100`);
  });

  it("a fold of another kind, or with other genres, is refused naming the fold's info.json and the field", async () => {
    const otherKind = copy();
    fs.rmSync(path.join(otherKind, "fold-2"), { recursive: true });
    await writeTinyFolder(path.join(otherKind, "fold-2"), "lstm");
    editJson(path.join(otherKind, "fold-2", "info.json"), (info) => {
      info["dataset"] = { dir: "data", films: 10, trainFilms: 4, validationFilms: 4, seed: 1, validationIds: HELD_OUT[1] };
    });
    await refused(
      otherKind,
      `${otherKind}/fold-2/info.json: kind is "lstm"; expected "linear", the kind of the ensemble in ${otherKind}/info.json`,
    );
    const genres = copy();
    editJson(path.join(genres, "info.json"), (info) => (info["genres"] = ["Comedy", "Action", "Drama"]));
    await refused(genres, `${genres}/fold-1/info.json: genres is a list of 3; expected the 3 genres of ${genres}/info.json, in its order`);
  });

  it("a fold that held out other films than the ensemble says, or films held out twice, is refused", async () => {
    const other = copy();
    editJson(path.join(other, "fold-2", "info.json"), (info) => {
      const dataset = info["dataset"] as Record<string, unknown>;
      dataset["validationIds"] = ids(4, 4);
      dataset["trainIds"] = TRAIN_IDS.filter((id) => !ids(4, 4).includes(id));
    });
    await refused(
      other,
      `${other}/fold-2/info.json: dataset.validationIds is a list of 4; expected the 4 films ${other}/info.json says fold 2 held out (ensemble.members[1].heldOutIds)`,
    );
    const twice = copy();
    editJson(path.join(twice, "info.json"), (info) => {
      const members = (info["ensemble"] as { members: { heldOutIds: string[] }[] }).members;
      (members[1] as { heldOutIds: string[] }).heldOutIds = ["tt0000004", ...ids(6, 3)];
    });
    await refused(
      twice,
      `${twice}/info.json: ensemble.members[1].heldOutIds[0] is "tt0000004"; expected a film held out by no other fold (ensemble.members[0] holds it out)`,
    );
  });

  it("a fold folder that is a link is refused: an ensemble reads nothing outside itself", async () => {
    const linked = copy();
    const elsewhere = path.join(root, "elsewhere-fold");
    fs.renameSync(path.join(linked, "fold-1"), elsewhere);
    fs.symlinkSync(elsewhere, path.join(linked, "fold-1"));
    await refused(
      linked,
      `${linked}/fold-1 is a link (to ${elsewhere}); expected a folder holding fold 1's model (an ensemble's folds are folders of its own, not links)`,
    );
  });
});
