import type { Collector } from '../exporter/collector.js';
import { renderFamilies, type Snapshot } from '../exporter/metric-families.js';

/** The samples of an exposition text, keyed by `name{labels}`, for tests. */
export function parseSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

/** The exposition text the runner writes for a snapshot of `collector`. */
export function snapshotText(collector: Pick<Collector, 'families'>, snapshot: Snapshot): string {
  return renderFamilies(collector.families, snapshot);
}

/** Runs `collector` once and returns the exposition text the runner would serve. */
export async function collectText(
  collector: Collector,
  signal: AbortSignal = new AbortController().signal,
): Promise<string> {
  const snapshot = await collector.collect(signal);
  const text = snapshotText(collector, snapshot);
  snapshot.accept();
  return text;
}

/** Runs `collector` once and returns the samples the runner would serve. */
export async function collectSamples(
  collector: Collector,
  signal: AbortSignal = new AbortController().signal,
): Promise<Map<string, number>> {
  return parseSamples(await collectText(collector, signal));
}
