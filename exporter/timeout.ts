/**
 * Races `work` against a timer that is always cleared, whichever side wins (the
 * promiseTimeout of nestjs/terminus, without its leaked timer). On timeout `onTimeout`
 * runs first (to abort the work), then the returned promise rejects with a TimeoutError.
 * A late rejection of `work` is swallowed: its caller has already been answered.
 */
export class TimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms < 1000 ? `${ms}ms` : `${ms / 1000}s`}`);
    this.name = 'TimeoutError';
  }
}

export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new TimeoutError(ms));
    }, ms);
  });
  work.catch(() => {});
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
