// The README's TypeScript examples as a program: every ```ts block, in order, becomes one module (after a prelude
// that defines what the examples assume), which is type-checked with the project's tsconfig.json and then run. A block
// that must not run says so on its fence with a reason: ```ts no-run: <why>.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import ts from "typescript";

/** One ```ts block of a Markdown file. */
export interface Snippet {
  /** The line of its opening fence (1-based). */
  line: number;
  code: string;
  /** Why it is not run, for a block marked `no-run: <reason>`. */
  noRun?: string;
}

const FENCE = /^```ts(?:\s+(.*))?$/;

/** The ```ts blocks of `markdown`, in order; throws on a no-run without a reason or an unclosed block. */
export function tsSnippets(markdown: string): Snippet[] {
  const lines = markdown.split("\n");
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE.exec(lines[i]!);
    if (!fence) continue;
    const marker = fence[1]?.trim() ?? "";
    const noRun = /^no-run:\s*(\S.*)$/.exec(marker)?.[1];
    if (marker && !noRun) throw new Error(`README.md:${i + 1}: a ts block may only be marked "no-run: <reason>"`);
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`README.md:${i + 1}: the ts block is never closed`);
    snippets.push({ line: i + 1, code: lines.slice(i + 1, end).join("\n"), ...(noRun ? { noRun } : {}) });
    i = end;
  }
  return snippets;
}

/** The module the runnable snippets make: the prelude, then each snippet under a comment naming its README line. */
export function snippetModule(snippets: readonly Snippet[], prelude: string): string {
  const blocks = snippets.filter((s) => s.noRun === undefined).map((s) => `// README.md:${s.line}\n${s.code}`);
  return `${prelude}\n${blocks.join("\n\n")}\n// README.md: end\n`;
}

/** A module written inside the repository (so its imports resolve like the project's own code), removed by dispose. */
export function writeModule(repo: string, source: string): { path: string; dispose(): void } {
  const dir = mkdtempSync(join(repo, "test", ".readme-run-"));
  const path = join(dir, "readme.ts");
  writeFileSync(path, source);
  return { path, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Type errors in `file` under the project's tsconfig.json, each as "README.md:<line>: message" where it can say. */
export function typeErrors(repo: string, file: string, source: string): string[] {
  const config = ts.readConfigFile(join(repo, "tsconfig.json"), (path) => ts.sys.readFile(path));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, repo);
  const program = ts.createProgram({ rootNames: [file], options });
  const diagnostics = ts.getPreEmitDiagnostics(program, program.getSourceFile(file));
  const markers = source.split("\n").map((line) => /^\/\/ README\.md:(\d+)$/.exec(line)?.[1]);
  return diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (d.file?.fileName !== file || d.start === undefined)
      return `${relative(repo, d.file?.fileName ?? "?")}: ${message}`;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    // The README line: the block's fence line plus the offset from the marker above the error.
    let marker = line;
    while (marker >= 0 && markers[marker] === undefined) marker--;
    const readmeLine = marker >= 0 ? Number(markers[marker]) + (line - marker) : undefined;
    return `${readmeLine === undefined ? "prelude" : `README.md:${readmeLine}`}: ${message}`;
  });
}

const run = promisify(execFile);

/** Runs the module on node with tsx, in `cwd`, with `env`; resolves with its output, rejects when it fails. */
export async function runModule(
  file: string,
  options: { cwd: string; env: Record<string, string>; timeoutMs: number },
): Promise<{ stdout: string; stderr: string }> {
  const tsx = pathToFileURL(createRequire(file).resolve("tsx")).href;
  return run(process.execPath, ["--import", tsx, file], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs,
  });
}

/** The repository's root (this file is test/support/readme-snippets.ts). */
export const REPO = join(dirname(new URL(import.meta.url).pathname), "..", "..");
