// Counting the instructions a server process executes per call with valgrind's callgrind. Unlike wall-clock or CPU
// time, an instruction count does not depend on what else the machine runs, so it can judge a trim of a few percent on
// a shared machine. The server starts with instrumentation off (fast), is warmed up (V8 has optimised the hot code),
// then instrumentation goes on and each sample is: zero the counters, make N calls, dump; the dump's total over N is
// the sample. Every thread of the process counts (V8's compiler and GC helpers included): that is the server's work.
import { execFile, execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** True when valgrind (callgrind) and callgrind_control can be run. */
export function callgrindAvailable(): boolean {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    execFileSync("callgrind_control", ["-h"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The command a server runs under: callgrind, instrumentation off until warmed up, dumps to outFile.N. */
export function callgrindWrapper(outFile: string): string[] {
  return [
    "valgrind",
    "--tool=callgrind",
    "--instr-atstart=no",
    "--dump-instr=no",
    "--compress-strings=no",
    `--callgrind-out-file=${outFile}`,
  ];
}

/** Sends one command to the callgrind of process pid (-i on, -z, -d, ...). */
async function control(pid: number, ...args: string[]): Promise<void> {
  await run("callgrind_control", [...args, String(pid)]);
}

/** Turns instrumentation on (the counters start from zero at each sample anyway). */
export function instrumentationOn(pid: number): Promise<void> {
  return control(pid, "-i", "on");
}

/** What an instruction was spent on, by the name of the function that executed it. */
export type Kind = "run" | "gc" | "compile";

/**
 * One dump: total instructions, their split by the object they ran in (binary, shared library, JIT code) and by kind:
 * V8 compiling (optimising) code, which after warm-up comes in bursts that no call causes, garbage collection, and the
 * rest, running the calls.
 */
export interface Dump {
  instructions: number;
  byObject: Record<string, number>;
  byKind: Record<Kind, number>;
}

// V8's and node's C++ names, as the node binary's symbols give them.
const COMPILE =
  /compiler::|[Mm]aglev|[Tt]urboshaft|Deoptimizer|OptimizingCompile|Compiler::|BytecodeGenerator|Parser|Baseline|CodeGenerator|Assembler/;
const GC =
  /Scaveng|MarkCompact|Sweeper|Heap::|heap::|Marking|Evacuat|GCTracer|ConcurrentMarking|MemoryAllocator|Pretenuring|MinorMC/;

function kindOf(fn: string): Kind {
  if (COMPILE.test(fn)) return "compile";
  if (GC.test(fn)) return "gc";
  return "run";
}

/** Zeroes the counters, awaits work(), dumps, and returns what the process executed meanwhile. */
export async function countInstructions(pid: number, outFile: string, work: () => Promise<void>): Promise<Dump> {
  await control(pid, "-z");
  await work();
  const before = dumpFiles(outFile).length;
  await control(pid, "-d");
  const files = dumpFiles(outFile);
  if (files.length <= before) throw new Error(`callgrind wrote no dump for ${outFile}`);
  return parseDump(readFileSync(files.at(-1)!, "utf8"));
}

/** outFile.1, outFile.2, ... in dump order. */
function dumpFiles(outFile: string): string[] {
  const prefix = `${basename(outFile)}.`;
  return readdirSync(dirname(outFile))
    .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
    .sort((a, b) => Number(a.slice(prefix.length)) - Number(b.slice(prefix.length)))
    .map((name) => join(dirname(outFile), name));
}

/**
 * Reads a callgrind dump (format: valgrind's docs, "Callgrind Format Specification"): the totals line, and each
 * function's self cost (cost lines not following a calls= line) summed by its object (ob=) and by the kind its name
 * (fn=) says.
 */
export function parseDump(text: string): Dump {
  const objects = new Map<string, string>();
  const byObject: Record<string, number> = {};
  const byKind: Record<Kind, number> = { run: 0, gc: 0, compile: 0 };
  let object = "?";
  let kind: Kind = "run";
  let afterCalls = false;
  let instructions = Number.NaN;
  for (const line of text.split("\n")) {
    if (line.startsWith("totals:")) instructions = Number(line.slice(7).trim());
    else if (line.startsWith("ob=")) object = objectName(objects, line.slice(3));
    else if (line.startsWith("fn=")) kind = kindOf(line.slice(3));
    else if (line.startsWith("calls=")) afterCalls = true;
    else if (/^[+\-*\d]/.test(line)) {
      if (afterCalls) afterCalls = false;
      else {
        const cost = Number(line.trim().split(/\s+/).at(-1));
        if (Number.isFinite(cost)) {
          byObject[object] = (byObject[object] ?? 0) + cost;
          byKind[kind] += cost;
        }
      }
    }
  }
  if (!Number.isFinite(instructions)) throw new Error("callgrind dump without a totals line");
  return { instructions, byObject, byKind };
}

function objectName(objects: Map<string, string>, spec: string): string {
  const match = /^\((\d+)\)(?: (.*))?$/.exec(spec.trim());
  if (!match) return shortObject(spec.trim());
  if (match[2] !== undefined) objects.set(match[1]!, shortObject(match[2]));
  return objects.get(match[1]!) ?? "?";
}

/** "/usr/bin/node" -> "node"; "???" (code without an object: V8's JIT output) -> "JIT code". */
function shortObject(path: string): string {
  if (path === "???" || path === "") return "JIT code";
  return basename(path);
}
