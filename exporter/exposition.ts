import { gzipSync } from 'node:zlib';

/**
 * The exposition served on GET /metrics, kept pre-rendered.
 *
 * Each producer (a collector, the scheduler's self-metrics, the process metrics) owns
 * one part: the text of its own metric families, rendered when its data changes. A
 * scrape only joins the parts into a Buffer, once per change, and sends that Buffer;
 * it never calls into a collector or waits on Docker, a disk or the network. Parts
 * never share a metric family, so joining them keeps every family contiguous.
 */
export class Exposition {
  readonly #parts = new Map<string, string>();
  #plain: Buffer | undefined;
  #gzip: Buffer | undefined;
  #version = 0;

  /** Replaces a part. Order of first insertion is the order of the output. */
  set(key: string, text: string): void {
    if (this.#parts.get(key) === text) return;
    this.#parts.set(key, text);
    this.#invalidate();
  }

  /** Increases each time the content changes; lets callers cache derived views. */
  get version(): number {
    return this.#version;
  }

  plain(): Buffer {
    if (!this.#plain) {
      const texts: string[] = [];
      for (const text of this.#parts.values()) {
        if (text.length === 0) continue;
        texts.push(text.endsWith('\n') ? text : `${text}\n`);
      }
      this.#plain = Buffer.from(texts.join(''), 'utf8');
    }
    return this.#plain;
  }

  /** The gzip form, for scrapers that accept it (Prometheus does), compressed once per change. */
  gzip(): Buffer {
    this.#gzip ??= gzipSync(this.plain(), { level: 6 });
    return this.#gzip;
  }

  #invalidate(): void {
    this.#plain = undefined;
    this.#gzip = undefined;
    this.#version++;
  }
}
