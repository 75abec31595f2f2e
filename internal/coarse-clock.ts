/**
 * Date.now() to within about `COARSE_MS`, for code that reads the clock on every log line
 * but keeps state for minutes (the sshd matcher's per-connection state, 120 s): a read of
 * the system clock cost 43 ns on a 2-core VM, more than the hash-table update it dated.
 *
 * The first read after the value goes stale reads the system clock and arms one unref'd
 * timer that marks it stale again `COARSE_MS` later, so an idle process sets no timers.
 * While a single synchronous run lasts (at most a follower's turn of a few MiB), the value
 * does not move: it is never ahead of the clock, and behind by at most COARSE_MS plus that run.
 */
export const COARSE_MS = 250;

let cached = 0;
let fresh = false;
const stale = () => {
  fresh = false;
};

export function coarseNow(): number {
  if (!fresh) {
    cached = Date.now();
    fresh = true;
    setTimeout(stale, COARSE_MS).unref();
  }
  return cached;
}
