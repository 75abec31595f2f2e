// Regenerates the golden files of the fixture stacks (bootstrap/fixtures/*/expected.*) from
// the current detectors and audit rules, and the rule reference in docs/check.md. Run after
// a deliberate change, review the diff, commit it: `npm run gen:goldens`. The detect, audit
// and docs tests fail while a golden differs from what the code produces.
import { readFileSync, writeFileSync } from 'node:fs';
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
import { withRulesDoc } from '../audit/docs.js';

for (const name of fixtureNames()) {
  const dir = copyFixture(name);
  const project = await readCompose({ files: [], cwd: dir, env: {} });
  writeFileSync(join(FIXTURES_DIR, name, GOLDEN_CONFIG), renderWatchpostConfig(project));
  writeFileSync(join(FIXTURES_DIR, name, GOLDEN_FINDINGS), formatJson(audit(project)));
  process.stdout.write(`${name}: ${GOLDEN_CONFIG}, ${GOLDEN_FINDINGS}\n`);
}

const doc = join(import.meta.dirname, '..', 'docs', 'check.md');
writeFileSync(doc, withRulesDoc(readFileSync(doc, 'utf8')));
process.stdout.write('docs/check.md: rules\n');
