// Resident memory of a process over a run, sampled from /proc (bench/lib/proc-stats.ts reads it): the peak, and the
// first and last samples, so a row can show memory that grows under a fault instead of settling.
import { rssMb } from "../../bench/lib/proc-stats.js";

/** What a sampler saw, in MB. */
export interface RssSummary {
  first: number;
  last: number;
  max: number;
  samples: number;
}

/** Samples the RSS of `pid` every intervalMs until stop(); a process that exited stops contributing samples. */
export function sampleRss(pid: number, intervalMs = 250): { stop(): RssSummary } {
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
