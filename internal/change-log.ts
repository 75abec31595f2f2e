/**
 * Logs a per-item failure once per change of its message, and its recovery once, so a
 * lasting outage of one mount or one server is one warning, not one per run.
 */
export class ChangeLog<Detail = undefined> {
  readonly #failing = new Map<string, string>();

  /**
   * `onFail` logs a new failure or a change of its message, `onRecover` the recovery, and
   * `onRepeat` (optional, a debug line) the same failure again.
   */
  constructor(
    private readonly onFail: (key: string, message: string, detail: Detail) => void,
    private readonly onRecover?: (key: string) => void,
    private readonly onRepeat?: (key: string, message: string, detail: Detail) => void,
  ) {}

  /**
   * Records that `key` fails with `message`; logs (with `detail`) when it did not fail, or
   * failed with another message.
   */
  fail(key: string, message: string, ...detail: Detail extends undefined ? [] : [Detail]): void {
    if (this.#failing.get(key) === message) {
      this.onRepeat?.(key, message, detail[0] as Detail);
      return;
    }
    this.#failing.set(key, message);
    this.onFail(key, message, detail[0] as Detail);
  }

  /** Records that `key` works; logs its recovery when it was failing. */
  ok(key: string): void {
    if (this.#failing.delete(key)) this.onRecover?.(key);
  }

  /** Whether `key` is failing now. */
  failing(key: string): boolean {
    return this.#failing.has(key);
  }

  /** The message `key` last failed with, or undefined when it is not failing. */
  message(key: string): string | undefined {
    return this.#failing.get(key);
  }
}
