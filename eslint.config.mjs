// ESLint for the whole tree: typescript-eslint's strict, type-aware rules (projectService reads tsconfig.json), with
// formatting left to Prettier (eslint-config-prettier) except the line length, which both hold at 120.
import eslint from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "proto/gen/**",
      "dist/**",
      "bench/results/**",
      "soak/results/**",
      ".vitest/**",
      "data/**",
      "test/.readme-run-*/**",
    ],
  },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Numbers print unambiguously in messages and SQL; booleans, objects and undefined stay refused.
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      // `(x) => resolve()` in callbacks reads better than a block; a void value used anywhere else is still an error.
      "@typescript-eslint/no-confusing-void-expression": ["error", { ignoreArrowShorthand: true }],
      // An async method without await is how a store or service turns a synchronous throw into a rejection.
      "@typescript-eslint/require-await": "off",
      // `_` names a value taken only to drain or skip it; rest siblings copy an object without some of its keys.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { varsIgnorePattern: "^_", argsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      // An AbortSignal's reason is typed any; Orderly aborts with Errors (DomainError, OrderlyError) and passes it on.
      "@typescript-eslint/prefer-promise-reject-errors": [
        "error",
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
    },
  },
  {
    files: ["services/kit/src/domain/text.ts"],
    // This file's job is to find control characters, so its patterns name them.
    rules: { "no-control-regex": "off" },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts", "bench/**/*.ts", "**/*.contract.ts"],
    rules: {
      // Tests and benchmarks index into results they just made; a wrong `!` fails the run at once, never in production.
      "@typescript-eslint/no-non-null-assertion": "off",
      // Teardown guards (`client?.close()`) cover a setup that failed half-way, which the variables' types cannot say.
      "@typescript-eslint/no-unnecessary-condition": "off",
      // vitest's asymmetric matchers (expect.any, expect.stringContaining, ...) are typed any.
      "@typescript-eslint/no-unsafe-assignment": "off",
    },
  },
  {
    files: ["**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        URL: "readonly",
      },
    },
  },
  prettier,
  {
    // Comments too: Prettier wraps code at 120 but leaves comments as written.
    // Long string and template literals (SQL, messages) are left whole rather than split mid-sentence.
    rules: {
      "max-len": [
        "error",
        { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true },
      ],
    },
  },
);
