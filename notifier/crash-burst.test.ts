import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { silentLogger } from '../internal/log.js';
import { ROOT } from '../internal/testing/helpers.js';
import { eventually, samplePayload, startFakeSlack, writeSlackNotifierConfig } from './fixtures/fakes.js';
import { Outbox } from './outbox.js';

/**
 * A burst of 1000 notifications, Slack failing every other request, the notifier killed
 * with SIGKILL halfway through and restarted on the same state_dir. Every acknowledged
 * notification must be delivered at least once; the only duplicates allowed are the
 * deliveries in flight at the kill (Slack got the message, the notifier died before it
 * wrote "done"): one worker per channel, one channel here, so at most 1.
 *
 * The notifier is a real child process running the built dist/. By default it is started
 * through a small harness around startNotifier() with a 20 ms backoff base instead of the
 * built-in 1 s: the backoff is not a config key, and with every notification failing once
 * the 1 s base (full jitter, mean wait 0.5 s) makes the burst take about 500 s.
 * WATCHPOST_BURST_CLI=1 runs the unmodified CLI (`node dist/cli/main.js notifier`) instead,
 * with the production backoff and a 20 min budget.
 */

const TOTAL = 1000;
const KILL_AFTER_ACKS = 500;
const CONCURRENCY = 20;
const CLI_MODE = process.env.WATCHPOST_BURST_CLI === '1';
const BACKOFF_BASE_MS = 20;
const DELIVERY_BUDGET_MS = CLI_MODE ? 1_200_000 : 120_000;
/** One worker per channel and one channel: at most this many sends in flight at any moment. */
const MAX_IN_FLIGHT = 1;
const TOKEN = 'burst-token-0123456789abcdef';

const procs: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const c of cleanups) await c();
});

/** Rebuilds dist/ when a source file is newer than it (a standalone run; `npm test` builds first). */
function ensureBuilt(): void {
  const built = join(ROOT, 'dist', 'notifier', 'run.js');
  let builtAt = 0;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    // not built yet
  }
  const newest = (dir: string): number => {
    let m = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) m = Math.max(m, newest(p));
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) m = Math.max(m, statSync(p).mtimeMs);
    }
    return m;
  };
  if (builtAt > 0 && ['cli', 'config', 'notifier'].every((d) => newest(join(ROOT, d)) <= builtAt)) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `npm run build failed:\n${r.stdout}${r.stderr}`);
}

const HARNESS = `
const [config, base] = process.argv.slice(1);
const dist = (p) => new URL(p, ${JSON.stringify(pathToFileURL(join(ROOT, 'dist') + '/').href)}).href;
const { loadConfigFile } = await import(dist('config/load.js'));
const { createLogger } = await import(dist('internal/log.js'));
const { startNotifier } = await import(dist('notifier/run.js'));
const cfg = loadConfigFile(config);
const log = createLogger({ level: 'info' });
const n = await startNotifier({ config: cfg.notifier, log, delivery: { backoffBaseMs: Number(base) } });
process.once('SIGTERM', () => n.close().then(() => process.exit(0), () => process.exit(1)));
`;

/** Starts the notifier as a child process and waits for the port it logs. */
async function run(config: string): Promise<{ proc: ChildProcess; port: number; exited: Promise<unknown> }> {
  const args = CLI_MODE
    ? [join(ROOT, 'dist', 'cli', 'main.js'), 'notifier', '--config', config]
    : ['--input-type=module', '-e', HARNESS, config, String(BACKOFF_BASE_MS)];
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  procs.push(proc);
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r(code ?? signal)));
  let head = '';
  proc.stderr!.on('data', (d: Buffer) => {
    if (head.length < 64_000) head += d.toString();
  });
  const port = await eventually(
    () => {
      const m = /msg="notifier listening" address=\S*:(\d+)/.exec(head);
      if (m) return Number(m[1]);
      if (proc.exitCode !== null) throw new Error(`notifier exited ${proc.exitCode}: ${head}`);
      return undefined;
    },
    20_000,
    `notifier listening (${head})`,
  );
  return { proc, port, exited };
}

function body(id: number): string {
  const p = samplePayload();
  const labels = { ...p.alerts[0]!.labels, alertname: 'BurstAlert', burst_id: String(id) };
  return JSON.stringify({
    ...p,
    groupKey: `{}:{alertname="BurstAlert", burst_id="${id}"}`,
    groupLabels: { alertname: 'BurstAlert', burst_id: String(id) },
    commonLabels: { alertname: 'BurstAlert', severity: 'critical', burst_id: String(id) },
    alerts: [{ ...p.alerts[0]!, labels, fingerprint: `burst${id}` }],
  });
}

test(
  'burst of 1000 with Slack failing half the requests, SIGKILL mid-way, restart: every acknowledged notification delivered',
  { timeout: DELIVERY_BUDGET_MS + 120_000 },
  async (t) => {
    ensureBuilt();
    const base = mkdtempSync(join(tmpdir(), 'watchpost-notifier-burst-'));
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());
    // Deterministically: requests 1, 3, 5, … get 500, requests 2, 4, 6, … get 200 (and are recorded).
    for (let i = 0; i < 20_000; i++)
      slack.script.push(i % 2 === 0 ? { status: 500, body: 'internal_error' } : { status: 200, body: 'ok' });
    const config = writeSlackNotifierConfig(base, slack.url, TOKEN);

    const bodies = Array.from({ length: TOTAL }, (_, i) => body(i));
    /** id → the answer's status field ("accepted" or "duplicate") of its first 2xx. */
    const acked = new Map<number, string>();
    const failures: string[] = [];
    let retriedAfterRestart = 0;
    let duplicateAnswers = 0;

    const post = async (port: number, id: number): Promise<'ok' | 'down'> => {
      let res: Response;
      try {
        res = await fetch(`http://127.0.0.1:${port}/alerts`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
          body: bodies[id],
        });
      } catch {
        return 'down'; // connection refused or reset by the kill: not acknowledged, Alertmanager would retry
      }
      const text = await res.text().catch(() => '');
      if (res.status < 200 || res.status > 299) {
        failures.push(`id ${id}: ${res.status} ${text}`);
        return 'ok';
      }
      const status = (JSON.parse(text) as { status: string }).status;
      if (status === 'duplicate') duplicateAnswers++;
      if (!acked.has(id)) acked.set(id, status);
      return 'ok';
    };

    // Run 1: post until ~500 are acknowledged, then SIGKILL with requests (and a delivery) in flight.
    const first = await run(config);
    let next = 0;
    const notAcked: number[] = [];
    let killed = false;
    let deliveredAtKill = -1;
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < TOTAL && !killed) {
          const id = next++;
          const r = await post(first.port, id);
          if (r === 'down') notAcked.push(id);
          if (!killed && acked.size >= KILL_AFTER_ACKS) {
            killed = true;
            deliveredAtKill = slack.received.length;
            first.proc.kill('SIGKILL');
          }
        }
      }),
    );
    assert.equal(await first.exited, 'SIGKILL');
    const ackedBeforeKill = acked.size;
    const receivedAtDeath = slack.received.length;

    // Run 2: same state_dir; retry what was not acknowledged (as Alertmanager does), then the rest.
    const second = await run(config);
    const queue = [...notAcked, ...Array.from({ length: TOTAL - next }, (_, i) => next + i)];
    retriedAfterRestart = notAcked.length;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          const r = await post(second.port, id);
          assert.equal(r, 'ok', `notifier down during the second run (id ${id})`);
        }
      }),
    );
    const postedIn = Date.now() - t0;

    const idOf = (m: (typeof slack.received)[number]): number => {
      const match = /burst_id=(\d+)/.exec(m.body.text);
      assert.ok(match, `no burst_id in ${m.body.text}`);
      return Number(match[1]);
    };
    const deliveredIds = () => new Set(slack.received.map(idOf));
    const waitStart = Date.now();
    try {
      await eventually(
        () => (deliveredIds().size >= TOTAL ? true : undefined),
        DELIVERY_BUDGET_MS,
        `all ${TOTAL} delivered (so far ${deliveredIds().size})`,
      );
    } finally {
      t.diagnostic(
        `delivered ${deliveredIds().size}/${TOTAL} distinct in ${Date.now() - waitStart} ms after the last POST ` +
          `(${slack.received.length} Slack 200s out of ${20_000 - slack.script.length} Slack requests)`,
      );
    }
    // Let anything still queued (a late duplicate) arrive before counting.
    await new Promise((r) => setTimeout(r, 500));
    second.proc.kill('SIGTERM');
    assert.equal(await second.exited, 0, 'graceful stop after the burst');

    const counts = new Map<number, number>();
    for (const m of slack.received) counts.set(idOf(m), (counts.get(idOf(m)) ?? 0) + 1);
    const duplicated = [...counts].filter(([, n]) => n > 1);
    const duplicates = duplicated.reduce((s, [, n]) => s + n - 1, 0);
    t.diagnostic(
      `mode ${CLI_MODE ? 'CLI (backoff base 1 s)' : `harness (backoff base ${BACKOFF_BASE_MS} ms)`}; ` +
        `acknowledged before the kill ${ackedBeforeKill}, delivered before the kill ${deliveredAtKill}` +
        `→${receivedAtDeath}, not acknowledged at the kill (retried) ${retriedAfterRestart}, ` +
        `answered "duplicate" ${duplicateAnswers}; all POSTs done in ${postedIn} ms`,
    );
    t.diagnostic(
      `duplicate deliveries: ${duplicates}` +
        (duplicated.length > 0 ? ` (burst_id ${duplicated.map(([id, n]) => `${id}×${n}`).join(', ')})` : '') +
        ` — bound: ${MAX_IN_FLIGHT} (deliveries in flight at the kill)`,
    );

    assert.deepEqual(failures, [], 'no non-2xx answers');
    assert.ok(ackedBeforeKill >= KILL_AFTER_ACKS && ackedBeforeKill < TOTAL, 'the kill came mid-burst');
    assert.equal(acked.size, TOTAL, 'every notification acknowledged in one run or the other');
    const lost = [...acked.keys()].filter((id) => !counts.has(id));
    assert.deepEqual(lost, [], 'no acknowledged notification lost');
    assert.ok(
      duplicates <= MAX_IN_FLIGHT,
      `duplicates ${duplicates} > ${MAX_IN_FLIGHT}: only a delivery in flight at the kill may be repeated`,
    );
    // Duplicates can only be of notifications that were not yet delivered when the process died.
    for (const [id] of duplicated) assert.ok(id < next, `duplicate ${id} was not posted before the kill`);
  },
);

test('a record appended after a torn last line (crash mid-write) survives the next restart', () => {
  // A crash (power cut) mid-append leaves a line without its newline. The first append of the next
  // run must not be glued onto it: that notification was acknowledged and must replay.
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-outbox-torn-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const open = () => Outbox.open({ dir, maxEntries: 100, dedupeWindowMs: 60_000, log: silentLogger });
  const a = open();
  assert.ok(a.enqueue({ payload: samplePayload() }, ['slack'], 'before').ok);
  a.close();
  appendFileSync(join(dir, 'outbox.jsonl'), '{"t":"enq","id":"torn","at":1,"chan');
  const b = open();
  assert.equal(b.depth(), 1);
  const after = b.enqueue({ payload: samplePayload() }, ['slack'], 'after');
  assert.ok(after.ok);
  b.close();
  const c = open();
  assert.equal(c.depth(), 2, 'the notification acknowledged after the restart is replayed');
  assert.ok(c.isDuplicate('after'), 'and its dedupe memory');
  assert.deepEqual(c.entries().map((e) => e.id)[1], after.entry.id);
  c.close();
});
