// What a process under test costs, read from Linux's /proc: CPU time (utime + stime) and peak resident memory (VmHWM).
// Read from outside, so the process measured runs exactly the code that ships.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** True when /proc can tell us about processes (Linux). */
export const procAvailable = existsSync("/proc/self/stat");

/** CPU seconds (user + system) the process has used so far; NaN when it cannot be read. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may hold spaces: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of stat(5) (utime, stime) are at 11 and 12 once pid and comm are gone.
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/** Peak resident set size (VmHWM) in MB; NaN when it cannot be read. */
export function peakRssMb(pid: number): number {
  return statusMb(pid, "VmHWM");
}

/** Current resident set size (VmRSS) in MB; NaN when it cannot be read. */
export function rssMb(pid: number): number {
  return statusMb(pid, "VmRSS");
}

function statusMb(pid: number, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Busy seconds (everything but idle and iowait, steal included) of one CPU so far; NaN when unknown. */
export function coreBusySeconds(core: string | undefined): number {
  if (core === undefined) return Number.NaN;
  try {
    const line = readFileSync("/proc/stat", "utf8")
      .split("\n")
      .find((l) => l.startsWith(`cpu${core} `));
    if (!line) return Number.NaN;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/** A CPU reading of several processes (and of the server core) at one moment, to subtract from a later one. */
export interface CpuMark {
  at: number;
  seconds: Map<number, number>;
  serverCoreBusy: number;
}

/** The CPU the servers are pinned to, if any; set by the runner. */
export const serverCore: { id: string | undefined } = { id: undefined };

/** Reads the CPU time of each pid, and of the server core, now. */
export function markCpu(pids: readonly number[]): CpuMark {
  return {
    at: performance.now(),
    seconds: new Map(pids.map((pid) => [pid, cpuSeconds(pid)])),
    serverCoreBusy: coreBusySeconds(serverCore.id),
  };
}

/**
 * How busy the server core was with work that is not ours (other processes, steal) between two marks, as a percentage
 * of that core: its busy time minus what `ourPids` used. The machine is shared; this says how much that mattered.
 */
export function foreignPercent(from: CpuMark, to: CpuMark, ourPids: readonly number[]): number {
  const ours = ourPids.reduce((sum, pid) => sum + cpuUsed(from, to, pid), 0);
  return Math.max(0, ((to.serverCoreBusy - from.serverCoreBusy - ours) / ((to.at - from.at) / 1000)) * 100);
}

/** CPU used by `pid` between two marks, as a percentage of one core over the wall time between them. */
export function cpuPercent(from: CpuMark, to: CpuMark, pid: number): number {
  const used = (to.seconds.get(pid) ?? Number.NaN) - (from.seconds.get(pid) ?? Number.NaN);
  return (used / ((to.at - from.at) / 1000)) * 100;
}

/** CPU seconds used by `pid` between two marks. */
export function cpuUsed(from: CpuMark, to: CpuMark, pid: number): number {
  return (to.seconds.get(pid) ?? Number.NaN) - (from.seconds.get(pid) ?? Number.NaN);
}
