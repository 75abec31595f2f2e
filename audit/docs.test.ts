import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { withRulesDoc } from './docs.js';
import { RULES } from './index.js';

const DOC = join(import.meta.dirname, '..', 'docs', 'check.md');

it('docs/check.md lists every audit rule with its rationale and fix, as the code has them (npm run gen:goldens)', () => {
  const text = readFileSync(DOC, 'utf8');
  assert.equal(text, withRulesDoc(text));
  for (const r of RULES) {
    assert.ok(text.includes(`### ${r.id}\n`), r.id);
    assert.ok(text.includes(r.rationale) && text.includes(r.fix), r.id);
  }
});

it('rule ids are unique, stable-looking and each rule lives in its own file under audit/rules/', () => {
  const ids = RULES.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^[a-z][a-z0-9-]+$/);
});
