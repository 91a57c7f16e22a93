/**
 * The coursework reports' two guesses about the models, checked against the attributions of a run (notebook 07):
 *
 *   - Horror and dark posters: is the strongest poster evidence for Horror darker than the poster as a whole, and
 *     more so than for the other genres? (genreEvidence's luminance differences, eval/explain.ts)
 *   - Drama's words: are the words that raise Drama most above the other genres more generic (in more overviews)
 *     than the other genres' words? (wordEvidence's rankings, and each word's share of the dataset's overviews)
 *
 * This computes the figures and the verdicts as plain data; workbook/explanations.ts explanationNarrative writes
 * them as sentences. A claim that cannot be checked says why.
 */
import type { Dataset } from "../data/dataset";
import { tokenize } from "../data/text";
import type { GenreEvidence, GenreWord, WordEvidence } from "./explain";

/** Horror and dark posters, checked: Horror's figures and the other genres' mean. */
export interface DarkHorrorCheck {
  checked: true;
  /** Horror films among those whose poster evidence was averaged. */
  films: number;
  /** Horror's mean (luminance of the strongest fifth of the evidence) - (the poster's mean luminance); < 0: darker. */
  luminance: number;
  /** Share of the Horror films whose evidence is darker than their poster. */
  darkerShare: number;
  /** The same luminance difference averaged over the other genres (0 when there are none). */
  othersMean: number;
  /** Whether the claim holds: Horror's evidence is darker than its posters, and darker than the other genres' mean. */
  holds: boolean;
}

export type DarkHorrorClaim = DarkHorrorCheck | { checked: false; why: "no poster model" | "no Horror film" };

/** Drama's words, checked: how generic Drama's five most specific words are against the other genres'. */
export interface GenericDramaCheck {
  checked: true;
  /** Drama's five most specific words (stop-words included; phrases of two words left out), most specific first. */
  words: string[];
  /** How many of those are stop-words. */
  stopWords: number;
  /** The mean share of all overviews that contain each of Drama's words. */
  share: number;
  /** The same mean share for each other genre with ranked words: their median (the upper one for an even count). */
  othersMedian: number;
  /** How many other genres have ranked words. */
  otherGenres: number;
  /** Whether the claim holds: Drama's words are in more overviews than the other genres' median. */
  holds: boolean;
}

export type GenericDramaClaim =
  GenericDramaCheck | { checked: false; why: "no overview model" | "Drama has no ranked word" | "no other genre has ranked words" };

export interface ReportClaims {
  darkHorror: DarkHorrorClaim;
  genericDrama: GenericDramaClaim;
}

/** Share of the documents (each a set of words) that hold `word`: its document frequency over their number. */
export function documentShare(documents: readonly ReadonlySet<string>[], word: string): number {
  return documents.filter((d) => d.has(word)).length / documents.length;
}

/** The middle of the values sorted ascending; for an even count, the upper of the two middle values. */
export function upperMedian(values: readonly number[]): number {
  return values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

function darkHorror(posterEvidence: { genres: readonly GenreEvidence[] } | undefined): DarkHorrorClaim {
  if (posterEvidence === undefined) return { checked: false, why: "no poster model" };
  const horror = posterEvidence.genres.find((e) => e.genre === "Horror");
  if (!horror) return { checked: false, why: "no Horror film" };
  const others = posterEvidence.genres.filter((e) => e.genre !== "Horror");
  const othersMean = others.reduce((a, e) => a + e.luminance, 0) / Math.max(1, others.length);
  return {
    checked: true,
    films: horror.films,
    luminance: horror.luminance,
    darkerShare: horror.darkerShare,
    othersMean,
    holds: horror.luminance < 0 && horror.luminance < othersMean,
  };
}

function genericDrama(wordEvidence: WordEvidence | undefined, dataset: Dataset): GenericDramaClaim {
  if (!wordEvidence) return { checked: false, why: "no overview model" };
  // The genre's five most specific words (the table's statistic), stop-words included: a model leaning on generic
  // words would rank them here. How generic a word is: the share of all overviews that contain it.
  const documents = dataset.films.map((f) => new Set(tokenize(f.overview)));
  const topFive = (genre: string): GenreWord[] =>
    [...(wordEvidence.words.get(genre) ?? []), ...(wordEvidence.stopWords.get(genre) ?? [])]
      .sort((a, b) => b.specificity - a.specificity)
      .slice(0, 5)
      .filter((w) => !w.word.includes(" "));
  const meanShare = (genre: string) => {
    const top = topFive(genre);
    return top.length ? top.reduce((a, w) => a + documentShare(documents, w.word), 0) / top.length : NaN;
  };
  const share = meanShare("Drama");
  const others = dataset.genres
    .filter((g) => g !== "Drama")
    .map(meanShare)
    .filter(Number.isFinite);
  if (!Number.isFinite(share)) return { checked: false, why: "Drama has no ranked word" };
  if (others.length === 0) return { checked: false, why: "no other genre has ranked words" };
  const othersMedian = upperMedian(others);
  const words = topFive("Drama").map((w) => w.word);
  return {
    checked: true,
    words,
    stopWords: words.filter((w) => wordEvidence.stopWords.get("Drama")?.some((s) => s.word === w)).length,
    share,
    othersMedian,
    otherGenres: others.length,
    holds: share > othersMedian,
  };
}

/** Both claims checked against a run's poster evidence and word evidence (either undefined when no model gave it). */
export function checkReportClaims(
  posterEvidence: { genres: readonly GenreEvidence[] } | undefined,
  wordEvidence: WordEvidence | undefined,
  dataset: Dataset,
): ReportClaims {
  return { darkHorror: darkHorror(posterEvidence), genericDrama: genericDrama(wordEvidence, dataset) };
}
