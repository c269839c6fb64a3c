// Resident memory of a process over a run, sampled from /proc (bench/lib/proc-stats.ts reads it): the peak, and the
// first and last samples, so a row can show memory that grows under a fault instead of settling.
import type { ChildProcess } from "node:child_process";
import { rssMb } from "../../bench/lib/proc-stats.js";

/** What a sampler saw, in MB. */
export interface RssSummary {
  first: number;
  last: number;
  max: number;
  samples: number;
}

/** Samples the RSS of `child` every intervalMs until stop(); a process that exited stops contributing samples. */
export function sampleRss(child: ChildProcess, intervalMs = 250): { stop(): RssSummary } {
  const { pid } = child;
  if (pid === undefined) throw new Error("cannot sample the memory of a process that did not start");
  const samples: number[] = [];
  const take = () => {
    const mb = rssMb(pid);
    if (Number.isFinite(mb)) samples.push(mb);
  };
  take();
  const timer = setInterval(take, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      take();
      const round = (mb: number | undefined) => Math.round(mb ?? Number.NaN);
      return {
        first: round(samples[0]),
        last: round(samples.at(-1)),
        max: round(Math.max(...samples)),
        samples: samples.length,
      };
    },
  };
}
