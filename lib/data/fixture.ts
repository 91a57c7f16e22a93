/**
 * A small synthetic dataset in the coursework's exact layout (CSV + Images/<Id>.jpg, 150x300 JPEGs),
 * for the tests and for running the notebooks on a machine without the real data. Genres are drawn with
 * roughly the real frequencies, and posters and overviews carry a little genre signal so that a model
 * trained on them can learn something.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Jimp } from "jimp";
import { COURSEWORK_GENRES, CSV_FILE, IMAGES_DIR } from "./dataset";
import { Random, randomInt, seededRandom } from "../runtime/random";

/** Approximate share of films per genre in the real data (0 for the four genres never positive). */
const GENRE_SHARE: Record<string, number> = {
  Action: 0.2, Adventure: 0.13, Animation: 0.04, Biography: 0.05, Comedy: 0.44, Crime: 0.18, Documentary: 0,
  Drama: 0.54, Family: 0.07, Fantasy: 0.07, History: 0.02, Horror: 0.08, Music: 0.03, Musical: 0.013,
  Mystery: 0.07, "N/A": 0.001, News: 0, "Reality-TV": 0, Romance: 0.2, "Sci-Fi": 0.06, Short: 0, Sport: 0.03,
  Thriller: 0.14, War: 0.02, Western: 0.008,
};

const GENRE_WORDS: Record<string, string[]> = {
  Action: ["fight", "mission", "explosive", "agent"], Adventure: ["journey", "treasure", "island", "quest"],
  Animation: ["animated", "talking", "toy", "cartoon"], Biography: ["true", "life", "story", "famous"],
  Comedy: ["hilarious", "wacky", "misadventures", "prank"], Crime: ["detective", "murder", "gang", "heist"],
  Drama: ["family", "struggles", "life", "loss"], Family: ["kids", "dog", "holiday", "parents"],
  Fantasy: ["magic", "kingdom", "dragon", "wizard"], History: ["empire", "century", "battle", "king"],
  Horror: ["haunted", "demon", "terror", "night"], Music: ["band", "singer", "song", "concert"],
  Musical: ["dance", "stage", "broadway", "sing"], Mystery: ["secret", "clue", "disappearance", "puzzle"],
  "N/A": ["unknown"], Romance: ["love", "romance", "heart", "wedding"], "Sci-Fi": ["alien", "space", "future", "robot"],
  Sport: ["team", "coach", "championship", "boxer"], Thriller: ["chase", "conspiracy", "killer", "danger"],
  War: ["soldiers", "war", "army", "front"], Western: ["cowboy", "outlaw", "sheriff", "frontier"],
};
const COMMON_WORDS = ["a", "the", "to", "of", "and", "in", "his", "is", "her", "with", "young", "man", "woman", "who", "their", "new"];

export interface FixtureFilm {
  id: string;
  genres: string[];
  overview: string;
}

export interface FixtureOptions {
  films?: number;
  seed?: number;
}

/** Writes the fixture dataset into `dir` (created if needed) and returns the films it wrote. */
export async function writeFixtureDataset(dir: string, options: FixtureOptions = {}): Promise<FixtureFilm[]> {
  const random = seededRandom(options.seed ?? 7);
  const films = Array.from({ length: options.films ?? 60 }, (_, i) => fixtureFilm(i, random));
  fs.mkdirSync(path.join(dir, IMAGES_DIR), { recursive: true });
  fs.writeFileSync(path.join(dir, CSV_FILE), fixtureCsv(films));
  for (const film of films) {
    await writePoster(path.join(dir, IMAGES_DIR, `${film.id}.jpg`), film.genres, random);
  }
  return films;
}

function fixtureFilm(index: number, random: Random): FixtureFilm {
  const id = `tt${String(9000000 + index).padStart(7, "0")}`;
  const genres = COURSEWORK_GENRES.filter((g) => random() < (GENRE_SHARE[g] ?? 0) * 0.9);
  while (genres.length > 3) genres.splice(randomInt(random, genres.length), 1);
  if (genres.length === 0) genres.push(random() < 0.55 ? "Drama" : "Comedy");
  const words: string[] = [];
  const length = 6 + randomInt(random, 30);
  for (let w = 0; w < length; w++) {
    const fromGenre = random() < 0.35;
    const pool = fromGenre ? (GENRE_WORDS[genres[randomInt(random, genres.length)] as string] ?? COMMON_WORDS) : COMMON_WORDS;
    words.push(pool[randomInt(random, pool.length)] as string);
  }
  const first = words[0] as string;
  words[0] = first.charAt(0).toUpperCase() + first.slice(1);
  return { id, genres: genres.slice(), overview: `${words.join(" ")}.` };
}

/** The CSV text in the coursework's layout: Id, Genre (a Python list literal), 25 one-hot columns, Overview. */
export function fixtureCsv(films: readonly FixtureFilm[]): string {
  const header = ["Id", "Genre", ...COURSEWORK_GENRES, "Overview"];
  const lines = [header.map(csvField).join(",")];
  for (const film of films) {
    const genreList = `[${film.genres.map((g) => `'${g}'`).join(", ")}]`;
    const oneHot = COURSEWORK_GENRES.map((g) => (film.genres.includes(g) ? "1" : "0"));
    lines.push([film.id, genreList, ...oneHot, film.overview].map(csvField).join(","));
  }
  return `${lines.join("\n")}\n`;
}

/** Quotes a CSV field when it needs it (standard CSV quoting, as pandas writes it). */
export function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const GENRE_COLOUR: Record<string, [number, number, number]> = {
  Action: [200, 40, 30], Comedy: [250, 210, 60], Drama: [60, 70, 120], Horror: [20, 20, 20], Romance: [230, 120, 160],
  Animation: [80, 200, 90], "Sci-Fi": [40, 160, 220], Western: [170, 110, 50], Crime: [90, 90, 90],
};

/** A 150x300 JPEG: a background coloured by the first genre, a band per other genre, and noise. */
async function writePoster(file: string, genres: readonly string[], random: Random): Promise<void> {
  const width = 150;
  const height = 300;
  const image = new Jimp({ width, height, color: 0x000000ff });
  const base = GENRE_COLOUR[genres[0] as string] ?? [120, 120, 120];
  const bands = genres.slice(1).map((g) => GENRE_COLOUR[g] ?? [200, 200, 200]);
  const data = image.bitmap.data;
  for (let y = 0; y < height; y++) {
    const band = bands[Math.floor((y / height) * 6) - 4];
    const colour = band ?? base;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) data[o + c] = Math.max(0, Math.min(255, (colour[c] as number) + randomInt(random, 41) - 20));
      data[o + 3] = 255;
    }
  }
  fs.writeFileSync(file, await image.getBuffer("image/jpeg", { quality: 85 }));
}
