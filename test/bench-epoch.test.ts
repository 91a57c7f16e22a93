import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/runtime/backend";
import { COURSEWORK_GENRES } from "../lib/data/dataset";
import { writeFixtureDataset, type FixtureFilm } from "../lib/data/fixture";
import { benchEpoch, epochRatioLines, type EpochResult } from "../lib/bench/epoch";
import { parseBenchArgs } from "../lib/commands/bench";
import { KIND_IDS } from "../lib/kinds/registry";

describe("npm run bench -- --epoch", function () {
  this.timeout(600000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-epoch-"));
  const dataDir = path.join(dir, "dataset");
  const env = { WORKBOOK_CACHE_DIR: path.join(dir, "cache"), WORKBOOK_OUT_DIR: path.join(dir, "out") };
  let films: FixtureFilm[] = [];
  let previous: string | undefined;
  before(async () => {
    previous = tf.getBackend();
    films = await writeFixtureDataset(dataDir, { films: 60, seed: 3 });
  });
  after(async () => {
    if (previous !== undefined) await tf.setBackend(previous);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("takes the coursework's settings, not the step benchmark's knobs", () => {
    assert.equal(parseBenchArgs(["--epoch"], {}).epoch, true);
    assert.throws(() => parseBenchArgs(["--epoch", "--steps", "3", "--small"], {}), /--epoch .* does not take --steps, --small/);
    assert.deepEqual(parseBenchArgs(["--epoch", "--kinds", "linear, fusion"], {}).epochKinds, ["linear", "fusion"]);
    assert.deepEqual(parseBenchArgs(["--epoch", "--kinds", "all"], {}).epochKinds, [...KIND_IDS]);
    assert.throws(
      () => parseBenchArgs(["--epoch", "--kinds", "cnn,rnn"], {}),
      /--kinds takes all or a list of cnn, lstm, .*; got 'cnn,rnn'/,
    );
    assert.throws(() => parseBenchArgs(["--kinds", "cnn"], {}), /--kinds goes with --epoch/);
  });

  it("trains one whole epoch of the CNN and plans the same films, posters and labels for the peers", async () => {
    const backend = await selectBackend();
    const { result, plan } = await benchEpoch("cnn", { dataDir }, backend, path.join(dir, "models"), env);
    // 60 films, the coursework's validation fraction 0.2: 12 validation films, 48 trained
    assert.equal(result.trainFilms, 48);
    assert.equal(result.validationFilms, 12);
    assert.equal(result.batchSize, 64);
    assert.ok(result.epochSeconds > 0 && result.prepareSeconds > 0 && result.afterSeconds! >= 0);
    // films/s = 48 / the epoch's seconds, which the result gives rounded to 0.01 s (a short native epoch of the
    // fixture: a few tenths of a second, so the rounding alone moves 48 / seconds by a few percent)
    const [fastest, slowest] = [48 / Math.max(result.epochSeconds - 0.005, 1e-9), 48 / (result.epochSeconds + 0.005)];
    assert.ok(
      result.epochSamplesPerSec >= slowest - 0.05 && result.epochSamplesPerSec <= fastest + 0.05,
      `${result.epochSamplesPerSec} films/s for ${result.epochSeconds} s`,
    );
    assert.ok(Number.isFinite(result.valLoss) && result.valLoss > 0);
    assert.ok(
      result.notes!.some((l) => /^60 posters preprocessed and cached/.test(l)),
      result.notes!.join("\n"),
    );
    const cnn = plan.cnn!;
    assert.equal(cnn.imageSize, 64);
    assert.equal(cnn.trainFilms, 48);
    // every fixture film once, by its poster file, with the genres the fixture gave it in the CSV's genre order
    const byId = new Map(films.map((f) => [f.id, f]));
    assert.deepEqual(cnn.files.map((f) => path.basename(f, ".jpg")).sort(), [...byId.keys()].sort());
    cnn.files.forEach((file, i) => {
      const film = byId.get(path.basename(file, ".jpg"))!;
      assert.equal(path.dirname(file), path.join(dataDir, "Images"));
      assert.deepEqual(
        cnn.labels[i],
        COURSEWORK_GENRES.map((g) => (film.genres.includes(g) ? 1 : 0)),
      );
    });
    assert.equal(plan.seed, 42);
    assert.equal(plan.learningRate, 1e-4);
  });

  it("trains the joint model from the CNN the same run trained (the fixture has no coursework CNN of its own)", async () => {
    const backend = await selectBackend();
    const models = path.join(dir, "models");
    assert.ok(fs.existsSync(path.join(models, `cnn-${backend.name}`)), "the CNN test ran first");
    const { result, plan } = await benchEpoch("fusion", { dataDir }, backend, models, env);
    assert.equal(result.model, "fusion");
    assert.equal(result.trainFilms, 48);
    assert.deepEqual(Object.keys(plan).sort(), ["batchSize", "genres", "learningRate", "seed"], "no peer plan for the joint model");
    await assert.rejects(() => benchEpoch("fusion", { dataDir }, backend, path.join(dir, "elsewhere"), env), /cnn/i);
  });

  it("trains one whole epoch of the BiLSTM and plans its token ids and batches for the peers", async () => {
    const backend = await selectBackend();
    const { result, plan } = await benchEpoch("lstm", { dataDir }, backend, path.join(dir, "models"), env);
    assert.equal(result.trainFilms, 48);
    assert.equal(result.validationFilms, 12);
    assert.ok(result.notes!.some((l) => /^vocabulary: /.test(l)));
    const lstm = plan.lstm!;
    // every training film in exactly one training batch, the validation films after them in order
    assert.deepEqual(
      lstm.trainBatches.flat().sort((a, b) => a - b),
      [...Array(48).keys()],
    );
    assert.equal(lstm.validationBatches.length, 1);
    assert.deepEqual(
      [...lstm.validationBatches[0]!].sort((a, b) => a - b),
      [...Array(12).keys()].map((i) => 48 + i),
    );
    // in length order, as the workbook's validation pass runs them
    const validationLengths = lstm.validationBatches[0]!.map((i) => lstm.ids[i]!.length);
    assert.deepEqual(
      validationLengths,
      [...validationLengths].sort((a, b) => a - b),
    );
    // one id per word of the overview (the fixture's words are letters only, each known or [UNK])
    const overviews = new Map(films.map((f) => [f.overview, f]));
    assert.equal(overviews.size, 60);
    const lengths = films.map((f) => f.overview.split(" ").length).sort((a, b) => a - b);
    assert.deepEqual(
      lstm.ids.map((ids) => ids.length).sort((a, b) => a - b),
      lengths,
    );
    assert.ok(lstm.ids.flat().every((id) => Number.isInteger(id) && id >= 1 && id < lstm.vocabularySize));
  });

  it("says the ratio as peer seconds over the workbook's (above 1, the workbook is faster)", () => {
    const line = (framework: string | undefined, prepare: number, epoch: number) =>
      ({
        model: "cnn",
        ...(framework ? { framework } : { backend: "tensorflow" }),
        prepareSeconds: prepare,
        epochSeconds: epoch,
      }) as EpochResult;
    const [header, row] = epochRatioLines([line(undefined, 2, 10)], [line("keras", 8, 15)]);
    assert.match(header!, /epoch s/);
    assert.match(row!, /10\.0 \/ 15\.0 = 1\.50x +12\.0 \/ 23\.0 = 1\.92x/);
  });
});
