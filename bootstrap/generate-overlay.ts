// Writes the repository's docker-compose.monitoring.yml: the overlay `watchpost init` writes,
// with its default parameters. `npm run gen:overlay`; bootstrap/overlay.test.ts fails on drift.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_OVERLAY_OPTIONS, renderOverlay } from './overlay.js';

const out = join(import.meta.dirname, '..', 'docker-compose.monitoring.yml');
writeFileSync(out, renderOverlay(DEFAULT_OVERLAY_OPTIONS));
console.log(`wrote ${out}`);
