/**
 * An ensemble model folder: the k models of a k-fold cross-validation (train/cross-validate.ts) kept together as one
 * model, whose probabilities are the mean of theirs.
 *
 *   info.json        the kind's info.json (kind, genres, preset, settings, the whole run's split, its own fields)
 *                    with an "ensemble" field: the fold count, the folds' seed, and each fold's held-out films
 *                    and kept epoch
 *   thresholds.json  per-genre thresholds tuned on the training films' out-of-fold probabilities
 *   fold-1 ... fold-k   each a normal model folder of the kind (its own info, weights, history, thresholds)
 *
 * It is untrusted input like any model folder (./folder-schema.ts): the "ensemble" field is checked field by field,
 * the fold folders' names are fixed (fold-<i>, never a path read from a file), each must be a folder (not a link,
 * so nothing outside the ensemble is read), there are exactly as many as the folds counted, and each fold's
 * info.json must agree with the ensemble's (kind, genres, its held-out films, its kept epoch). Every refusal names
 * the file and the field.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WorkbookError } from "../runtime/errors";
import { type ModelInfoBase, MAX_EPOCHS, fieldRefusal } from "./folder-schema";

/** The most folds an ensemble folder may declare (five or ten are usual; each fold is a whole model). */
export const MAX_FOLDS = 100;

/** One fold of an ensemble: what it trained on, and what it kept. */
export interface EnsembleMember {
  /** The training films it trained on: the run's training films less its held-out ones. */
  trainFilms: number;
  /** Its held-out films (Ids): the films that chose its epoch and gave their out-of-fold probabilities. */
  heldOutIds: string[];
  /** The epoch it kept, chosen on its held-out films. */
  bestEpoch: number;
  bestValLoss: number | null;
}

/** info.json's "ensemble" field. */
export interface EnsembleInfo {
  folds: number;
  /** The seed that dealt the training films into folds (data/split.ts trainingFolds). */
  seed: number;
  members: EnsembleMember[];
}

export type EnsembleModelInfo = ModelInfoBase & { ensemble: EnsembleInfo };

/** The name of fold `i`'s folder (1-based) in an ensemble: a fixed name, never read from a file. */
export function foldName(i: number): string {
  if (!Number.isInteger(i) || i < 1 || i > MAX_FOLDS) throw new Error(`foldFolder: fold ${i} is not from 1 to ${MAX_FOLDS}`);
  return `fold-${i}`;
}

/** The folder of fold `i` (1-based) of an ensemble. */
export function foldFolder(dir: string, i: number): string {
  return path.join(dir, foldName(i));
}

/** Whether a parsed info.json describes an ensemble (it has an "ensemble" field, whatever it holds: checked on loading). */
export function describesEnsemble(json: unknown): boolean {
  return typeof json === "object" && json !== null && !Array.isArray(json) && "ensemble" in json;
}

/**
 * info.json's "ensemble" field, checked: a fold count from 2 to MAX_FOLDS, one member per fold, each member's
 * counts and held-out Ids; the held-out films of the folds are disjoint, and together they are the run's training
 * films (dataset.trainIds when the file lists them, else their count dataset.trainFilms).
 */
export function checkEnsembleInfo(info: ModelInfoBase, file: string): EnsembleInfo {
  const refuse = (field: string, value: unknown, expected: string): never => {
    throw fieldRefusal(file, field, value, expected);
  };
  const raw = (info as { ensemble?: unknown }).ensemble;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return refuse("ensemble", raw, "an object");
  const e = raw as Record<string, unknown>;
  const folds = e["folds"];
  if (typeof folds !== "number" || !Number.isInteger(folds) || folds < 2 || folds > MAX_FOLDS)
    refuse("ensemble.folds", folds, `an integer from 2 to ${MAX_FOLDS}`);
  const k = folds as number;
  const seed = e["seed"];
  if (typeof seed !== "number" || !Number.isInteger(seed)) refuse("ensemble.seed", seed, "an integer");
  const members = e["members"];
  if (!Array.isArray(members) || members.length !== k) refuse("ensemble.members", members, `a list of ${k} folds (ensemble.folds)`);
  const training = info.dataset.trainFilms;
  const trainIds = info.dataset.trainIds === undefined ? undefined : new Set(info.dataset.trainIds);
  const heldBy = new Map<string, number>();
  (members as unknown[]).forEach((m, i) => {
    const at = `ensemble.members[${i}]`;
    if (typeof m !== "object" || m === null || Array.isArray(m)) refuse(at, m, "an object");
    const member = m as Record<string, unknown>;
    const ids = member["heldOutIds"];
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > training)
      refuse(`${at}.heldOutIds`, ids, `a list of 1 to ${training} film Ids (dataset.trainFilms)`);
    (ids as unknown[]).forEach((id, j) => {
      if (typeof id !== "string" || id === "") refuse(`${at}.heldOutIds[${j}]`, id, "a film Id");
      const earlier = heldBy.get(id as string);
      if (earlier !== undefined)
        refuse(`${at}.heldOutIds[${j}]`, id, `a film held out by no other fold (ensemble.members[${earlier}] holds it out)`);
      if (trainIds && !trainIds.has(id as string))
        refuse(`${at}.heldOutIds[${j}]`, id, "one of the run's training films (dataset.trainIds)");
      heldBy.set(id as string, i);
    });
    const trainFilms = member["trainFilms"];
    const expected = training - (ids as unknown[]).length;
    if (trainFilms !== expected)
      refuse(
        `${at}.trainFilms`,
        trainFilms,
        `${expected}: the run's ${training} training films less its ${(ids as unknown[]).length} held out`,
      );
    const bestEpoch = member["bestEpoch"];
    if (typeof bestEpoch !== "number" || !Number.isInteger(bestEpoch) || bestEpoch < 1 || bestEpoch > MAX_EPOCHS)
      refuse(`${at}.bestEpoch`, bestEpoch, `an integer from 1 to ${MAX_EPOCHS}`);
    const loss = member["bestValLoss"];
    if (loss !== null && (typeof loss !== "number" || !Number.isFinite(loss))) refuse(`${at}.bestValLoss`, loss, "a number (or null)");
  });
  if (heldBy.size !== training)
    refuse(
      "ensemble.members",
      members,
      `folds whose held-out films are the run's ${training} training films (dataset.trainFilms), each once; they hold out ${heldBy.size}`,
    );
  return raw as EnsembleInfo;
}

/**
 * The fold folders of an ensemble in `dir`: fold-1 ... fold-k, each a folder (a link is refused: an ensemble's
 * folds are its own), and no fold-<j> beyond them (a fold count that does not match the folders is refused).
 */
export function checkFoldFolders(dir: string, folds: number, infoFile: string): string[] {
  const present = fs
    .readdirSync(dir)
    .map((name) => /^fold-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  const expected = `as many folds as the fold-<i> folders in ${dir} (${present.length}: ${
    present
      .sort((a, b) => a - b)
      .map((i) => `fold-${i}`)
      .join(", ") || "none"
  })`;
  const stray = present.filter((i) => i < 1 || i > folds);
  if (stray.length > 0 || present.length !== folds) throw fieldRefusal(infoFile, "ensemble.folds", folds, expected);
  return Array.from({ length: folds }, (_, i) => {
    const folder = foldFolder(dir, i + 1);
    const st = fs.lstatSync(folder);
    if (!st.isDirectory()) {
      throw new WorkbookError(
        `${folder} is ${st.isSymbolicLink() ? `a link (to ${fs.readlinkSync(folder)})` : "a file"}; expected a folder holding fold ${i + 1}'s model (an ensemble's folds are folders of its own, not links)`,
      );
    }
    return folder;
  });
}

/**
 * Fold `i`'s info.json (1-based) against the ensemble's: the same kind and genres, in the same order; held out the
 * films the ensemble says; kept the epoch it says. Refusals name the fold's info.json and the field.
 */
export function checkFoldInfo(ensemble: EnsembleModelInfo, i: number, fold: ModelInfoBase, foldInfoFile: string, infoFile: string): void {
  const member = ensemble.ensemble.members[i - 1] as EnsembleMember;
  if (fold.kind !== ensemble.kind)
    throw fieldRefusal(foldInfoFile, "kind", fold.kind, `"${ensemble.kind}", the kind of the ensemble in ${infoFile}`);
  if (fold.genres.join("\u0000") !== ensemble.genres.join("\u0000"))
    throw fieldRefusal(foldInfoFile, "genres", fold.genres, `the ${ensemble.genres.length} genres of ${infoFile}, in its order`);
  const own = fold.dataset.validationIds;
  const same = own !== undefined && own.length === member.heldOutIds.length && own.every((id, j) => id === member.heldOutIds[j]);
  if (!same)
    throw fieldRefusal(
      foldInfoFile,
      "dataset.validationIds",
      own,
      `the ${member.heldOutIds.length} films ${infoFile} says fold ${i} held out (ensemble.members[${i - 1}].heldOutIds)`,
    );
  if (fold.bestEpoch !== member.bestEpoch)
    throw fieldRefusal(foldInfoFile, "bestEpoch", fold.bestEpoch, `${member.bestEpoch}, fold ${i}'s kept epoch in ${infoFile}`);
}
