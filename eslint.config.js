// ESLint's recommended rules for the live mode's scripts (a page and its Web Workers), their
// Node tests and the Node tools. tests/test_javascript.py runs it with the `lint` script's
// arguments of package.json.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: [".venv/", "node_modules/", "build/", "test-artifacts/"] }, // for a bare `eslint .`
  js.configs.recommended,
  {
    files: ["fer_demo/browser/js/**/*.js"],
    languageOptions: { globals: { ...globals.browser, ...globals.worker } },
  },
  {
    files: ["tests/js/**/*.js", "tools/**/*.mjs", "eslint.config.js"],
    languageOptions: { globals: globals.node },
  },
];
