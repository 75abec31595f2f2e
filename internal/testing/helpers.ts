import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

function which(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { encoding: 'utf8' }).stdout;
  return found?.trim() || undefined;
}

function missingMessage(names: string[]): string {
  return `${names.join(', ')} not found: run scripts/install-system-deps.sh`;
}

/**
 * The path of a system program a test needs, or undefined. In CI (CI=true) a missing
 * program fails the test; on a developer machine it skips it, loudly, naming the script
 * that installs it. Works from a test (its context can skip) and from a hook; a suite whose
 * hook needs a program declares it with `skipWithout` so that the whole suite skips.
 */
export function requireBinary(t: object | undefined, name: string): string | undefined {
  const found = which(name);
  if (found) return found;
  const msg = missingMessage([name]);
  const skip = (t as Partial<TestContext> | undefined)?.skip;
  if (process.env.CI === 'true' || typeof skip !== 'function') throw new Error(msg);
  process.stderr.write(`\n*** SKIPPED: ${msg} ***\n\n`);
  skip.call(t, msg);
  return undefined;
}

/**
 * The `skip` option of a describe() or it() that needs system programs: the reason (printed
 * loudly) when one is missing on a developer machine, false otherwise. In CI it is always
 * false, so the suite runs and its requireBinary() fails it.
 */
export function skipWithout(...names: string[]): string | false {
  const missing = names.filter((n) => which(n) === undefined);
  if (missing.length === 0 || process.env.CI === 'true') return false;
  const msg = missingMessage(missing);
  process.stderr.write(`\n*** SKIPPED: ${msg} ***\n\n`);
  return msg;
}

/** Runs `promtool check metrics` on an exposition; returns what it printed (empty when clean). */
export function promtoolCheckMetrics(
  promtool: string,
  exposition: string,
): { status: number | null; output: string } {
  const r = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

export interface RunningCli {
  proc: ChildProcess;
  port: number;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the built CLI and waits until it logs the address it listens on: the exporter's, or
 * with `service: 'notifier'` the notifier's (under `watchpost notifier`). With `fileLimit`
 * it runs under that open-file limit (`ulimit -n`, soft and hard), as a container with
 * `ulimits: { nofile: N }` would.
 */
export async function startCli(
  args: string[],
  env: Record<string, string> = {},
  opts: { fileLimit?: number; service?: 'exporter' | 'notifier' | 'write-proxy' } = {},
): Promise<RunningCli> {
  const argv = [process.execPath, CLI, ...args];
  const [cmd, ...rest] =
    opts.fileLimit === undefined
      ? argv
      : ['sh', '-c', `ulimit -n ${opts.fileLimit} && exec "$@"`, 'sh', ...argv];
  // A working directory of its own: the notifier keeps its outbox under ./.watchpost by default.
  const proc = spawn(cmd!, rest, {
    cwd: mkdtempSync(join(tmpdir(), 'watchpost-cli-')),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    // A CLI that never says where it listens is killed, not leaked.
    const fail = (e: Error) => {
      proc.kill('SIGKILL');
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error(`no listening line within 15s:\n${err}`)), 15_000);
    const check = () => {
      const m = new RegExp(`msg="${opts.service ?? 'exporter'} listening" address=\\S*:(\\d+)`).exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    proc.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`exited with ${code} before listening:\n${err}`));
    });
  });
  return {
    proc,
    port,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal);
      const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(kill);
      return code;
    },
  };
}

/** Runs the built CLI to completion. */
export function runCli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The one polling helper of the test suite: calls `fn` until it returns a value other than
 * undefined or false, and returns that value; an exception counts as "not yet" (it is kept
 * for the message). Fails after `ms`, saying what it waited for. Tests wait for conditions
 * with it and never assert elapsed time, so a busy machine only makes them slower.
 */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** A free TCP port on 127.0.0.1 (bound, then released, so another process can take it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A seeded pseudo-random source (mulberry32): the same cases on every run, numbers in
 * [0, 1) like Math.random.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
