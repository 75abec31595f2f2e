import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT } from '../internal/testing/helpers.js';
import { eventually, samplePayload, startFakeSlack, writeSlackNotifierConfig } from './fixtures/fakes.js';

const procs: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const c of cleanups) await c();
});

/** Runs `watchpost notifier` (through tsx) and waits for the port it logs. */
async function run(config: string): Promise<{ proc: ChildProcess; port: number; exited: Promise<unknown> }> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), 'notifier', '--config', config],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  procs.push(proc);
  const exited = new Promise((r) => proc.once('exit', r));
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await eventually(
    () => {
      const m = /msg="notifier listening" address=\S*:(\d+)/.exec(err);
      return m ? Number(m[1]) : undefined;
    },
    // tsx compiles on start: slow when the machine is busy.
    60_000,
    `notifier listening (${err})`,
  );
  return { proc, port, exited };
}

test('kill -9 after the 2xx loses nothing: delivered by the next start', async () => {
  const base = mkdtempSync(join(tmpdir(), 'watchpost-notifier-crash-'));
  const slack = await startFakeSlack();
  cleanups.push(() => slack.close());
  for (let i = 0; i < 10_000; i++) slack.script.push({ status: 503, body: 'down' });
  const config = writeSlackNotifierConfig(base, slack.url, 'crash-token-0123456789abcdef');
  const first = await run(config);
  const res = await fetch(`http://127.0.0.1:${first.port}/alerts`, {
    method: 'POST',
    headers: { Authorization: 'Bearer crash-token-0123456789abcdef', 'Content-Type': 'application/json' },
    body: JSON.stringify(samplePayload()),
  });
  assert.equal(res.status, 200);
  first.proc.kill('SIGKILL');
  await first.exited;
  assert.equal(slack.received.length, 0);

  slack.script.length = 0;
  const second = await run(config);
  await eventually(() => (slack.received.length === 1 ? true : undefined), 20_000, 'delivery after restart');
  assert.match(slack.received[0]!.body.text, /^\[FIRING:1\] critical DiskSpaceLow/);
  second.proc.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});
