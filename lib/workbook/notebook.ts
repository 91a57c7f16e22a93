/**
 * What every notebook does first and shows about its models: its configuration for the active preset (with
 * what the preset and the notebook's own changes change), and a model's architecture on the page.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Film } from "../data/dataset";
import type { LoadedSplit } from "../data/split";
import { KindConfig, KindId, SettingsOf, configSettings, isKindId, kindConfig, kindSpec } from "../kinds/registry";
import { presetDifferences } from "../kinds/presets";
import { NotebookConfig, PresetName, notebookConfig } from "../runtime/config";
import { WorkbookError } from "../runtime/errors";
import { escapeHtml, htmlTable } from "./html";
import { showHtml } from "./display";

/** Where a config's changes come from (said in its first line) and where its preset and paths are read. */
export interface ConfigSource {
  /** The preset (default WORKBOOK_PRESET, else quick). */
  preset?: PresetName;
  /** The environment the paths are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where the changes were made, for the line: "in this notebook" (the default), "on the command line". */
  changesMade?: string;
}

/**
 * A notebook's configuration: the settings of a model kind (or a notebook's own presets) at the active preset
 * (WORKBOOK_PRESET, default quick), with the notebook's changes on top, and the paths. Prints, as the notebook's
 * first output, the preset and what it and the changes differ from the coursework's settings. `npm run train`
 * starts the same way, its options as the changes.
 */
export function startNotebook<K extends KindId>(kind: K, changes?: Partial<SettingsOf<K>>, source?: ConfigSource): KindConfig<K>;
export function startNotebook<T extends object>(
  presets: Record<PresetName, T>,
  changes?: Partial<T>,
  source?: ConfigSource,
): NotebookConfig<T>;
export function startNotebook(
  of: KindId | Record<PresetName, object>,
  changes: object = {},
  source: ConfigSource = {},
): NotebookConfig<object> {
  if (typeof of === "string" && !isKindId(of)) throw new WorkbookError(`unknown model kind '${of as string}'`);
  const presets = typeof of === "string" ? (kindSpec(of).presets as Record<PresetName, object>) : of;
  const where = { ...(source.preset ? { preset: source.preset } : {}), ...(source.env ? { env: source.env } : {}) };
  const base = typeof of === "string" ? kindConfig(of, where) : notebookConfig(presets, where);
  const config = { ...base, ...changes };
  const differences = presetDifferences(configSettings(config), presets.coursework);
  const changed = Object.keys(changes);
  console.log(
    `preset ${config.preset}${typeof of === "string" ? ` (${of})` : ""}: ` +
      (differences.length === 0 ? "the coursework's settings" : `differs from the coursework: ${differences.join("; ")}`) +
      (changed.length > 0 ? `; changed ${source.changesMade ?? "in this notebook"}: ${changed.join(", ")}` : ""),
  );
  return config;
}

/** The i-th validation film of a loaded split (an error naming the range when there is none). */
export function validationFilm(loaded: LoadedSplit, i = 0): Film {
  const row = loaded.split.validation[i];
  const film = row === undefined ? undefined : loaded.dataset.films[row];
  if (!film) throw new WorkbookError(`there are ${loaded.split.validation.length} validation films, no film ${i}`);
  return film;
}

/** The validation films of a loaded split, in split order. */
export function validationFilms(loaded: LoadedSplit): Film[] {
  return loaded.split.validation.map((r) => loaded.dataset.films[r] as Film);
}

/** A model's architecture as a table, as keras-io shows model.summary(): each layer, its output shape, parameters and inputs. */
export function showModel(model: tf.LayersModel, title = model.name): void {
  const shape = (s: unknown) => JSON.stringify(s).replace(/null/g, "None");
  const rows = model.layers.map((layer) => {
    const inbound = (layer as unknown as { inboundNodes?: { inboundLayers: { name: string }[] }[] }).inboundNodes?.[0]?.inboundLayers ?? [];
    return {
      name: layer.name,
      type: layer.getClassName(),
      output: shape(layer.outputShape),
      params: layer.countParams(),
      inputs: inbound.map((l) => l.name).join(", "),
      trainable: layer.trainable,
    };
  });
  const total = rows.reduce((a, r) => a + r.params, 0);
  const trainable = model.trainableWeights.reduce((a, w) => a + w.shape.reduce((x: number, y) => x * (y ?? 1), 1), 0);
  const cell = (text: string, align = "left") => ({
    html: escapeHtml(text),
    style: `text-align:${align};white-space:nowrap;padding:1px 8px`,
  });
  const html =
    htmlTable({
      style: "font-size:12px;line-height:1.3",
      caption: { html: `<b>${escapeHtml(title)}</b>`, style: "text-align:left" },
      head: ["layer", "type", "output shape", "parameters", "inputs from"].map((h) => ({
        html: h,
        style: "text-align:left;padding:1px 8px",
      })),
      rows: rows.map((r) => ({
        style: r.trainable ? "" : "color:#888",
        cells: [cell(r.name), cell(r.type), cell(r.output), cell(r.params.toLocaleString("en-US"), "right"), cell(r.inputs)],
      })),
    }) +
    `<div style="font-size:12px">${total.toLocaleString("en-US")} parameters, ${trainable.toLocaleString("en-US")} trainable` +
    `${trainable < total ? " (grey layers are frozen)" : ""}</div>`;
  const text = [
    title,
    ...rows.map((r) => `${r.name.padEnd(24)} ${r.type.padEnd(20)} ${r.output.padEnd(22)} ${String(r.params).padStart(10)}  ${r.inputs}`),
    `${total} parameters, ${trainable} trainable`,
  ].join("\n");
  showHtml(html, text);
}
