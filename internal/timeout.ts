/**
 * The one place that bounds work in time, for both services. Every timer here is cleared
 * and every abort listener removed whichever side wins, so a bound never keeps the process
 * alive or leaks a listener on a long-lived signal.
 *
 * - withTimeout: the work's own result, or a TimeoutError (the runner's bound on a run);
 * - deadline: the work's result or `{ settled: false }`, for a caller that keeps the work
 *   going (a hung statfs, a channel that ignores its signal);
 * - timeoutSignal: a signal for work that can be cancelled (fetch, sockets), aborted by a
 *   timer or by an outer signal, that says which of the two fired.
 */

/** "250ms", "5s", "1.5s". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}

export class TimeoutError extends Error {
  constructor(
    readonly ms: number,
    message = `timed out after ${formatMs(ms)}`,
  ) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/**
 * Races `work` against a timer (the promiseTimeout of nestjs/terminus, without its leaked
 * timer). On timeout `onTimeout` runs first (to abort the work), then the returned promise
 * rejects with a TimeoutError. A late rejection of `work` is swallowed: its caller has
 * already been answered.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout?: () => void): Promise<T> {
  return deadline(work, ms).then((r) => {
    if (r.settled) return r.value;
    onTimeout?.();
    throw new TimeoutError(ms);
  });
}

/**
 * Waits for `promise` at most `ms`: `{ settled: false }` on timeout, rejects when it
 * rejects or `signal` aborts (with the signal's reason). A late rejection is swallowed.
 */
export function deadline<T>(
  promise: Promise<T>,
  ms: number,
  signal?: AbortSignal,
): Promise<{ settled: true; value: T } | { settled: false }> {
  promise.catch(() => {});
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    function onAbort(this: AbortSignal) {
      cleanup();
      reject(this.reason);
    }
    const timer = setTimeout(() => {
      cleanup();
      resolve({ settled: false });
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        cleanup();
        resolve({ settled: true, value });
      },
      (err: unknown) => {
        cleanup();
        reject(err);
      },
    );
  });
}

/** A signal bounded in time; see timeoutSignal. */
export interface TimeoutSignal {
  /** Aborted when the time is up (with the TimeoutError) or when the outer signal aborts (with its reason). */
  readonly signal: AbortSignal;
  /** True when the timer, not the outer signal, aborted it. */
  readonly timedOut: boolean;
  /** Stops the timer and stops listening to the outer signal: call it once the work is done. */
  clear(): void;
}

/**
 * A signal for cancellable work that aborts after `ms` or with `outer`, whichever comes
 * first. Unlike AbortSignal.timeout, its timer is cleared when the work ends and it tells a
 * timeout from an outer abort; `reason` is the error it aborts with on timeout.
 */
export function timeoutSignal(
  ms: number,
  outer?: AbortSignal,
  reason: Error = new TimeoutError(ms),
): TimeoutSignal {
  const abort = new AbortController();
  let timedOut = false;
  const clear = () => {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  };
  const onOuter = () => {
    clear();
    abort.abort(outer!.reason);
  };
  const timer = setTimeout(() => {
    clear();
    timedOut = true;
    abort.abort(reason);
  }, ms);
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  return {
    signal: abort.signal,
    get timedOut() {
      return timedOut;
    },
    clear,
  };
}
