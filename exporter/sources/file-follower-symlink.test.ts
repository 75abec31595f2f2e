import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventually } from '../../internal/testing/helpers.js';
import { FileFollower, type FollowerEvents } from './file-follower.js';

const root = mkdtempSync(join(tmpdir(), 'watchpost-symlink-'));
after(() => rmSync(root, { recursive: true, force: true }));

function recorder() {
  const lines: string[] = [];
  const errors: string[] = [];
  let up: boolean | undefined;
  const events: FollowerEvents = {
    line: (l) => lines.push(l),
    bytes: () => {},
    truncated: () => {},
    up: (u) => (up = u),
    error: (e) => errors.push(e.message),
  };
  return { events, lines, errors, isUp: () => up };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  await eventually(cond, 10_000, what);
}

describe('FileFollower: symlink policy', () => {
  it('follows a symlink inside its folder, and refuses it once retargeted outside (e.g. /etc/shadow)', async () => {
    const logs = join(root, 'logs');
    const outside = join(root, 'secret');
    mkdirSync(logs);
    mkdirSync(outside);
    const real = join(logs, 'app-2026.log');
    const shadow = join(outside, 'shadow');
    writeFileSync(real, '');
    writeFileSync(shadow, 'root:$6$hash:19000:0:99999:7:::\n');
    const link = join(logs, 'app.log');
    symlinkSync(real, link);
    const r = recorder();
    const f = new FileFollower(link, r.events, { maxLineBytes: 1024, pollMs: 20 });
    f.start();
    try {
      await until('up', () => r.isUp() === true);
      appendFileSync(real, 'login failed from 10.0.0.1\n');
      await until('the line', () => r.lines.length === 1);
      // Retargeted to a file outside the folder: refused, nothing of it is read.
      unlinkSync(link);
      symlinkSync(shadow, link);
      appendFileSync(shadow, 'bob:$6$other:19000:0:99999:7:::\n');
      await until('the refusal', () => r.errors.some((e) => /outside/.test(e)));
      assert.equal(r.isUp(), false);
      assert.match(
        r.errors.find((e) => /outside/.test(e))!,
        /symlink_outside_folder/,
      );
      await new Promise((res) => setTimeout(res, 200));
      assert.deepEqual(r.lines, ['login failed from 10.0.0.1'], 'no line of the file outside was read');
      // Pointed back inside: followed again.
      unlinkSync(link);
      symlinkSync(real, link);
      await until('up again', () => r.isUp() === true);
      appendFileSync(real, 'login failed from 10.0.0.2\n');
      await until('the new line', () => r.lines.includes('login failed from 10.0.0.2'));
      assert.ok(!r.lines.some((l) => l.includes('$6$')));
    } finally {
      await f.close();
    }
  });

  it('follows a symlink outside its folder when the config allows it', async () => {
    const logs = join(root, 'logs2');
    const outside = join(root, 'elsewhere');
    mkdirSync(logs);
    mkdirSync(outside);
    const target = join(outside, 'app.log');
    writeFileSync(target, '');
    const link = join(logs, 'app.log');
    symlinkSync(target, link);
    const r = recorder();
    const f = new FileFollower(link, r.events, {
      maxLineBytes: 1024,
      pollMs: 20,
      symlinkOutsideFolder: true,
    });
    f.start();
    try {
      await until('up', () => r.isUp() === true);
      appendFileSync(target, 'hello\n');
      await until('the line', () => r.lines.length === 1);
      assert.deepEqual(r.errors, []);
    } finally {
      await f.close();
    }
  });
});
