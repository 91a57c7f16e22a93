// ESLint for lib/ and test/: the recommended JavaScript and typescript-eslint rules, no import cycles, and the
// stages of lib/ in their order: a stage imports only the stages before it (docs/ARCHITECTURE.md).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import importX, { createNodeResolver } from "eslint-plugin-import-x";

/** The stages of lib/, in order: each may import only those before it. */
const STAGES = [
  "runtime",
  "data",
  "models",
  "encoders",
  "kinds",
  "eval",
  "train",
  "tune",
  "bench",
  "parity",
  "workbook",
  "app",
  "commands",
];

/** One zone per stage: its folder may not import from any later stage's folder. */
const stageZones = STAGES.slice(0, -1).map((stage, i) => ({
  target: `./lib/${stage}`,
  from: STAGES.slice(i + 1).map((later) => `./lib/${later}`),
  message: `lib/${stage} may import only earlier stages (${STAGES.slice(0, i + 1).join(", ")}): see docs/ARCHITECTURE.md`,
}));

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "out/", "cache/", "shims/", "data/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    plugins: { "import-x": importX },
    settings: {
      "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js", ".json"] })],
      // no-cycle follows imports into the .ts files it parses, with the TypeScript parser
      "import-x/extensions": [".ts", ".js"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
    },
    rules: {
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "import-x/no-restricted-paths": ["error", { zones: stageZones }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
);
