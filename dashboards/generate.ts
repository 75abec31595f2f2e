// npm run gen:dashboards — renders dashboards/src/*.ts to dashboards/*.json (committed; a
// test fails when they drift from the source).
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dashboards, render } from './src/index.js';

const dir = import.meta.dirname;
// Everything is built before anything is written: a source that throws leaves the files as they were.
const built = Object.entries(dashboards).map(([name, build]) => [name, render(build())] as const);
// A dashboard removed from the source must not linger as a stale file Grafana still loads.
for (const f of readdirSync(dir)) if (f.endsWith('.json')) rmSync(join(dir, f));
for (const [name, text] of built) {
  const out = join(dir, `${name}.json`);
  writeFileSync(out, text);
  console.log(`wrote ${out}`);
}
