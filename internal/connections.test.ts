import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fitConnections, MIN_CONNECTIONS, openFileLimit } from './connections.js';

const dir = mkdtempSync(join(tmpdir(), 'watchpost-connections-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function procfsWith(limits: string): string {
  const root = mkdtempSync(join(dir, 'proc-'));
  mkdirSync(join(root, 'self'));
  writeFileSync(join(root, 'self', 'limits'), limits);
  return root;
}

const LIMITS = (soft: string, hard: string) =>
  [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max processes             63459                63459                processes ',
    `Max open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     `,
    '',
  ].join('\n');

describe('openFileLimit', () => {
  it('reads the soft limit on open files', () => {
    assert.equal(openFileLimit(procfsWith(LIMITS('256', '4096'))), 256);
  });
  it('is undefined when unlimited or unreadable', () => {
    assert.equal(openFileLimit(procfsWith(LIMITS('unlimited', 'unlimited'))), undefined);
    assert.equal(openFileLimit(join(dir, 'missing')), undefined);
  });
  it("reads this process's limit from /proc", () => {
    const n = openFileLimit();
    assert.ok(n === undefined || n > 0);
  });
});

describe('fitConnections', () => {
  const key = 'exporter.max_connections';
  it('keeps the configured cap when it fits, or when the limit is unknown', () => {
    assert.deepEqual(fitConnections({ configured: 256, reserve: 72, limit: 1024, key }), {
      maxConnections: 256,
    });
    assert.deepEqual(fitConnections({ configured: 256, reserve: 72, limit: undefined, key }), {
      maxConnections: 256,
    });
  });
  it('lowers it to what the limit leaves beside the reserve, and says how to fix it', () => {
    const b = fitConnections({ configured: 256, reserve: 72, limit: 256, key });
    assert.equal(b.maxConnections, 184);
    assert.match(b.warning ?? '', /^exporter\.max_connections lowered from 256 to 184: .*may open 256 files/);
    assert.match(b.warning ?? '', /ulimits\.nofile/);
  });
  it('never goes below the minimum, and warns that even that may not fit', () => {
    const b = fitConnections({ configured: 256, reserve: 72, limit: 64, key });
    assert.equal(b.maxConnections, MIN_CONNECTIONS);
    assert.match(b.warning ?? '', /even that may not fit/);
  });
});
