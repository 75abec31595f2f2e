// Regenerates the golden files of the fixture stacks (bootstrap/fixtures/*/expected.*)
// from the current detectors and audit rules. Run after a deliberate change, review the
// diff, commit it: `npm run gen:goldens`. bootstrap/detect.test.ts and audit/audit.test.ts
// fail while a golden differs from what the code produces.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCompose } from '../bootstrap/compose.js';
import { renderWatchpostConfig } from '../bootstrap/detect.js';
import {
  copyFixture,
  FIXTURES_DIR,
  fixtureNames,
  GOLDEN_CONFIG,
  GOLDEN_FINDINGS,
} from '../bootstrap/fixture-stacks.js';
import { audit } from '../audit/index.js';
import { formatJson } from '../audit/format.js';

for (const name of fixtureNames()) {
  const dir = copyFixture(name);
  const project = await readCompose({ files: [], cwd: dir, env: {} });
  writeFileSync(join(FIXTURES_DIR, name, GOLDEN_CONFIG), renderWatchpostConfig(project));
  writeFileSync(join(FIXTURES_DIR, name, GOLDEN_FINDINGS), formatJson(audit(project)));
  process.stdout.write(`${name}: ${GOLDEN_CONFIG}, ${GOLDEN_FINDINGS}\n`);
}
