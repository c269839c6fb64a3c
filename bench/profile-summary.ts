// Summarises a V8 CPU profile (.cpuprofile, from `npm run bench -- --cpu-prof` or `node --cpu-prof`): where the time
// went by area (package, kit file, Node internals, GC, idle) and the functions with the most self time.
// Usage: tsx bench/profile-summary.ts <file.cpuprofile> [top=25]
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The area a script URL belongs to: an npm package, a repository folder, a Node internal, or a V8 pseudo-node. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[1] ?? url.slice(5)}`;
  const repo = /\/(services\/[^/]+\/src\/(?:[^/]+\/)?[^/]+|clients\/src\/[^/]+|proto\/gen\/[^/]+|bench\/[^/]+)/.exec(
    url,
  );
  return repo ? repo[1]!.replace(/\.ts$/, "") : url;
}

/** Self milliseconds by area and by function, largest first. */
export function summarise(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of selfMs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    total += ms;
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const key = `${functionName || "(anonymous)"}  ${area}:${lineNumber + 1}`;
    functions.set(key, (functions.get(key) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs: total, areas: sorted(areas), functions: sorted(functions) };
}

const runDirectly = process.argv[1]?.endsWith("profile-summary.ts");
if (runDirectly) {
  const [file, top = "25"] = process.argv.slice(2);
  if (!file) {
    console.error("usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]");
    process.exit(2);
  }
  const { totalMs, areas, functions } = summarise(JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
  const busy = totalMs - (areas.find(([a]) => a === "(idle)")?.[1] ?? 0);
  const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1).padStart(5)}%`;
  console.log(
    `${file}: ${(totalMs / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (percentages of busy time)`,
  );
  console.log("\nself time by area:");
  for (const [area, ms] of areas.filter(([a]) => a !== "(idle)").slice(0, Number(top)))
    console.log(`  ${pct(ms)}  ${area}`);
  console.log("\nself time by function:");
  for (const [name, ms] of functions.filter(([f]) => !f.startsWith("(idle)")).slice(0, Number(top)))
    console.log(`  ${pct(ms)}  ${name}`);
}
