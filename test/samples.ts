import type { Registry } from 'prom-client';

/** The samples of a collector's exposition text, keyed by `name{labels}`, for tests. */
export async function samples(target: { registry: Registry }): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await target.registry.metrics()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}
