import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfigText } from '../../../config/load.js';
import { silentLogger } from '../../../internal/log.js';
import { BackupsCollector } from './backups.js';
import { collectSamples } from '../../../test/samples.js';

/** Real folders and files with set modification times; no fake filesystem. */

const root = mkdtempSync(join(tmpdir(), 'watchpost-backups-'));
after(() => {
  try {
    chmodSync(join(root, 'locked'), 0o755);
  } catch {
    // not created
  }
  rmSync(root, { recursive: true, force: true });
});

const NOW = Math.floor(Date.now() / 1000);
const HOUR = 3600;

function file(path: string, content: string | Buffer, mtime: number): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  utimesSync(path, mtime, mtime);
}

function collector(checks: string): BackupsCollector {
  const text = `collectors:\n  backups:\n    checks:\n${checks}`;
  return new BackupsCollector({ config: parseConfigText(text, 'test.yml', {}), log: silentLogger });
}

async function run(checks: string): Promise<Map<string, number>> {
  return collectSamples(collector(checks));
}

const get = (s: Map<string, number>, metric: string, name: string) =>
  s.get(`watchpost_backup_${metric}{name="${name}"}`);

describe('backups collector: files', () => {
  let s: Map<string, number>;

  before(async () => {
    const pg = join(root, 'pg');
    file(join(pg, 'db-1.sql.gz'), Buffer.alloc(2048), NOW - 50 * HOUR);
    file(join(pg, 'db-2.sql.gz'), Buffer.alloc(3000), NOW - 26 * HOUR);
    // Newer, but empty: a dump that failed. min_size (1 byte by default) ignores it.
    file(join(pg, 'db-3.sql.gz'), '', NOW - 2 * HOUR);
    // Newer still, but does not match the pattern.
    file(join(pg, 'notes.txt'), 'x', NOW - HOUR);
    file(join(pg, '.db-4.sql.gz'), 'partial upload', NOW - 60);
    mkdirSync(join(pg, 'old.sql.gz'), { recursive: true }); // a folder is not a backup
    symlinkSync(join(pg, 'db-1.sql.gz'), join(pg, 'link.sql.gz'));
    utimesSync(join(pg, 'link.sql.gz'), NOW - 50 * HOUR, NOW - 50 * HOUR);

    const big = join(root, 'big');
    file(join(big, 'a.tar'), Buffer.alloc(20_000), NOW - 10 * HOUR);
    file(join(big, 'b.tar'), Buffer.alloc(500), NOW - HOUR);
    file(join(root, 'single', 'dump.sql'), 'data', NOW - 3 * HOUR);
    file(join(root, 'whole', 'x'), 'x', NOW - 7 * HOUR);
    file(join(root, 'whole', 'y'), 'yy', NOW - 5 * HOUR);
    file(join(root, 'q', 'day-01.tgz'), 'a', NOW - 9 * HOUR);
    file(join(root, 'q', 'day-1.tgz'), 'bb', NOW - HOUR);
    mkdirSync(join(root, 'empty'));

    s = await run(
      [
        `      - { name: pg, path: "${root}/pg/*.sql.gz", max_age: 1d }`,
        `      - { name: big, path: "${root}/big/*.tar", max_age: 12h, min_size: 10KB }`,
        `      - { name: single, path: "${root}/single/dump.sql", max_age: 1h }`,
        `      - { name: whole, path: "${root}/whole", max_age: 1h }`,
        `      - { name: question, path: "${root}/q/day-??.tgz", max_age: 1h }`,
        `      - { name: none, path: "${root}/empty/*.gz", max_age: 1h, min_size: 1MiB }`,
        `      - { name: missing, path: "${root}/nope/*.gz", max_age: 1h }`,
        '',
      ].join('\n'),
    );
  });

  it('the newest matching file wins; an empty newer one is ignored by min_size', () => {
    assert.equal(get(s, 'last_success_timestamp_seconds', 'pg'), NOW - 26 * HOUR);
    assert.equal(get(s, 'size_bytes', 'pg'), 3000);
    // db-1, db-2, db-3 and the link: not notes.txt, not the dotfile, not the folder.
    assert.equal(get(s, 'files', 'pg'), 4);
    assert.equal(get(s, 'max_age_seconds', 'pg'), 86_400);
    assert.equal(get(s, 'min_size_bytes', 'pg'), 1);
    assert.equal(get(s, 'check_up', 'pg'), 1);
  });

  it('min_size with a unit', () => {
    assert.equal(get(s, 'min_size_bytes', 'big'), 10_000);
    assert.equal(get(s, 'last_success_timestamp_seconds', 'big'), NOW - 10 * HOUR);
    assert.equal(get(s, 'size_bytes', 'big'), 20_000);
    assert.equal(get(s, 'files', 'big'), 2);
  });

  it('a path without wildcards: one file, or every file of a folder', () => {
    assert.equal(get(s, 'last_success_timestamp_seconds', 'single'), NOW - 3 * HOUR);
    assert.equal(get(s, 'files', 'single'), 1);
    assert.equal(get(s, 'last_success_timestamp_seconds', 'whole'), NOW - 5 * HOUR);
    assert.equal(get(s, 'files', 'whole'), 2);
  });

  it('? matches exactly one character', () => {
    assert.equal(get(s, 'files', 'question'), 1);
    assert.equal(get(s, 'last_success_timestamp_seconds', 'question'), NOW - 9 * HOUR);
  });

  it('no qualifying file: timestamp 0 (so the age alert fires), no size, not an error', () => {
    assert.equal(get(s, 'last_success_timestamp_seconds', 'none'), 0);
    assert.equal(get(s, 'size_bytes', 'none'), undefined);
    assert.equal(get(s, 'files', 'none'), 0);
    assert.equal(get(s, 'check_up', 'none'), 1);
    assert.equal(get(s, 'min_size_bytes', 'none'), 1024 * 1024);
  });

  it('a missing folder: check_up 0, no timestamp or size, the other checks unaffected', () => {
    assert.equal(get(s, 'check_up', 'missing'), 0);
    assert.equal(get(s, 'check_error', 'missing'), 1, 'the 0.1 name is served for one release');
    assert.equal(get(s, 'last_success_timestamp_seconds', 'missing'), undefined);
    assert.equal(get(s, 'size_bytes', 'missing'), undefined);
    assert.equal(get(s, 'files', 'missing'), undefined);
    assert.equal(get(s, 'max_age_seconds', 'missing'), 3600, 'what is expected is still exported');
  });

  it('an unreadable folder is an error too', async (t) => {
    if (process.getuid?.() === 0) {
      t.skip('root reads any folder');
      return;
    }
    file(join(root, 'locked', 'a.gz'), 'a', NOW);
    chmodSync(join(root, 'locked'), 0o000);
    const r = await run(`      - { name: locked, path: "${root}/locked/*.gz", max_age: 1h }\n`);
    assert.equal(get(r, 'check_up', 'locked'), 0);
  });
});

describe('backups collector: markers', () => {
  it('Unix seconds, RFC 3339, garbage (an error, not a fallback to mtime), marker_time mtime', async () => {
    const m = join(root, 'markers');
    file(join(m, 'unix'), `${NOW - 90 * 60}\n`, NOW);
    file(join(m, 'rfc'), '2024-05-01T03:00:00+02:00\n', NOW);
    file(join(m, 'rfc-z'), '2024-05-01T01:00:00.5Z', NOW);
    file(join(m, 'garbage'), 'sync ok\n', NOW);
    file(join(m, 'millis'), `${Date.now()}`, NOW);
    file(join(m, 'by-mtime'), 'anything at all', NOW - 4 * HOUR);
    const s = await run(
      [
        `      - { name: unix, marker: "${m}/unix", max_age: 2h }`,
        `      - { name: rfc, marker: "${m}/rfc", max_age: 2h }`,
        `      - { name: rfc-z, marker: "${m}/rfc-z", max_age: 2h }`,
        `      - { name: garbage, marker: "${m}/garbage", max_age: 2h }`,
        `      - { name: millis, marker: "${m}/millis", max_age: 2h }`,
        `      - { name: by-mtime, marker: "${m}/by-mtime", marker_time: mtime, max_age: 2h }`,
        `      - { name: absent, marker: "${m}/absent", max_age: 2h }`,
        '',
      ].join('\n'),
    );
    assert.equal(get(s, 'last_success_timestamp_seconds', 'unix'), NOW - 90 * 60);
    assert.equal(get(s, 'check_up', 'unix'), 1);
    assert.equal(get(s, 'max_age_seconds', 'unix'), 7200);
    assert.equal(get(s, 'last_success_timestamp_seconds', 'rfc'), Date.parse('2024-05-01T01:00:00Z') / 1000);
    assert.equal(
      get(s, 'last_success_timestamp_seconds', 'rfc-z'),
      Date.parse('2024-05-01T01:00:00Z') / 1000 + 0.5,
    );
    for (const name of ['garbage', 'millis', 'absent']) {
      assert.equal(get(s, 'check_up', name), 0, name);
      assert.equal(get(s, 'last_success_timestamp_seconds', name), undefined, name);
    }
    assert.equal(get(s, 'last_success_timestamp_seconds', 'by-mtime'), NOW - 4 * HOUR);
    assert.equal(get(s, 'size_bytes', 'unix'), undefined, 'a marker has no backup size');
  });
});

describe('backups and dependencies are not started until configured', () => {
  it('buildCollectors leaves them out with nothing to check, builds them with checks', async () => {
    const { buildCollectors } = await import('../index.js');
    const names = async (text: string) => {
      const built = await buildCollectors({ config: parseConfigText(text, 't.yml', {}), log: silentLogger });
      for (const b of built) void b.collector.close?.();
      return built.map((b) => b.collector.name);
    };
    const none = await names('');
    assert.ok(!none.includes('backups') && !none.includes('dependencies'), none.join(','));
    const some = await names(
      `collectors:\n  backups:\n    checks: [{ name: pg, path: "${root}/*.gz", max_age: 1d }]\n  dependencies:\n    targets: [{ name: db, kind: tcp, address: "127.0.0.1:5432" }]\n`,
    );
    assert.ok(some.includes('backups') && some.includes('dependencies'), some.join(','));
  });
});
