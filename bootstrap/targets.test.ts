import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { addTarget, readTargets, removeTarget, TargetsError } from './targets.js';

const dir = mkdtempSync(join(tmpdir(), 'watchpost-targets-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('file_sd targets file', () => {
  it('adds, relabels, refuses a duplicate host and removes, keeping a file Prometheus reads', () => {
    const file = join(dir, 'a', 'exporters.json');
    assert.deepEqual(readTargets(file), []);
    assert.equal(addTarget(file, { address: '10.0.0.5:9850', site: 'paris', host: 'rec1' }), 'added');
    assert.equal(addTarget(file, { address: '10.0.0.5:9850', site: 'paris', host: 'rec1' }), 'unchanged');
    assert.equal(addTarget(file, { address: '10.0.0.6:9850', site: 'lyon', host: 'db' }), 'added');
    assert.equal(addTarget(file, { address: '10.0.0.6:9850', site: 'lyon', host: 'db-1' }), 'updated');
    assert.throws(
      () => addTarget(file, { address: '10.0.0.7:9850', site: 'paris', host: 'rec1' }),
      /site "paris" already has a host "rec1" \(10\.0\.0\.5:9850\)/,
    );
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), [
      { targets: ['10.0.0.6:9850'], labels: { site: 'lyon', host: 'db-1' } },
      { targets: ['10.0.0.5:9850'], labels: { site: 'paris', host: 'rec1' } },
    ]);
    assert.equal(removeTarget(file, '10.0.0.6:9850'), true);
    assert.equal(removeTarget(file, '10.0.0.6:9850'), false);
    assert.deepEqual(readTargets(file), [{ address: '10.0.0.5:9850', site: 'paris', host: 'rec1' }]);
  });

  it('bad input is an error that names it, and the file is left as it was', () => {
    const file = join(dir, 'b.json');
    addTarget(file, { address: 'rec.example.net:9850', site: 'paris', host: 'rec' });
    const before = readFileSync(file, 'utf8');
    assert.throws(
      () => addTarget(file, { address: 'rec2', site: 'paris', host: 'x' }),
      /"rec2" is not an address host:port/,
    );
    assert.throws(() => addTarget(file, { address: 'a:99999', site: 'paris', host: 'x' }), TargetsError);
    assert.throws(
      () => addTarget(file, { address: 'a:1', site: 'paris site', host: 'x' }),
      /--site "paris site": expected letters/,
    );
    assert.throws(() => addTarget(file, { address: 'a:1', site: 'p', host: '"}' }), /--host/);
    assert.equal(readFileSync(file, 'utf8'), before);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '[{"targets": "x"}]');
    assert.throws(() => readTargets(broken), /broken\.json: entry 1: expected "targets"/);
    writeFileSync(broken, '{');
    assert.throws(
      () => addTarget(broken, { address: 'a:1', site: 'p', host: 'h' }),
      /broken\.json is not JSON/,
    );
    assert.equal(readFileSync(broken, 'utf8'), '{');
  });
});
