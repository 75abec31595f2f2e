import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Registry } from 'prom-client';
import { NotifierMetrics } from '../notifier/metrics.js';
import { DESCRIPTORS } from '../exporter/collectors/registry.js';
import { createProcessRegistry } from '../exporter/run.js';
import { SCHEDULER_FAMILIES } from '../exporter/scheduler.js';

interface Described {
  type: string;
  labels: string[];
}

/** Every watchpost_* family the exporter and the notifier register: the collectors' declared families and the registries. */
async function registered(): Promise<Map<string, Described>> {
  const out = new Map<string, Described>();
  const add = (name: string, type: string, labels: readonly string[]) => {
    assert.ok(!out.has(name), `${name} is registered twice`);
    out.set(name, { type, labels: [...labels].sort() });
  };
  const registries: Registry[] = [createProcessRegistry('test'), new NotifierMetrics(() => 0).registry];
  for (const f of SCHEDULER_FAMILIES) add(f.name, f.type, f.labelNames);
  for (const d of DESCRIPTORS) {
    for (const f of d.families) add(f.name, f.type, f.labelNames);
  }
  for (const r of registries) {
    for (const m of r.getMetricsAsArray()) {
      if (!m.name.startsWith('watchpost_')) continue;
      add(m.name, String(m.type), (m as unknown as { labelNames?: string[] }).labelNames ?? []);
    }
  }
  return out;
}

/** Rows of docs/metrics.md: | `name` | type | `label`, `label` | help | */
function documented(): Map<string, Described> {
  const text = readFileSync(join(import.meta.dirname, '..', 'docs', 'metrics.md'), 'utf8');
  const out = new Map<string, Described>();
  for (const line of text.split('\n')) {
    const m = /^\| `(watchpost_[a-z0-9_]+)` \| (\w+) \| ([^|]*) \|/.exec(line);
    if (!m) continue;
    const labels = [...m[3]!.matchAll(/`([a-z_]+)`/g)].map((x) => x[1]!).sort();
    out.set(m[1]!, { type: m[2]!, labels });
  }
  return out;
}

describe('docs/metrics.md', () => {
  it('lists every metric the exporter and the notifier register, with its type and labels, and no other', async () => {
    const reg = await registered();
    const doc = documented();
    assert.ok(reg.size > 20, `found ${reg.size} registered metrics`);
    const undocumented = [...reg.keys()].filter((n) => !doc.has(n));
    const stale = [...doc.keys()].filter((n) => !reg.has(n));
    assert.deepEqual(undocumented, [], 'registered but not in docs/metrics.md');
    assert.deepEqual(stale, [], 'in docs/metrics.md but not registered');
    for (const [name, d] of reg) assert.deepEqual(doc.get(name), d, `type/labels of ${name}`);
  });
});
