import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, eventually, freePort } from './helpers.js';

/** What a webhook receiver got: Alertmanager's v4 payload, with the path and auth header. */
export interface Received {
  /** When it arrived (ms since the epoch). */
  at: number;
  path: string;
  auth: string | undefined;
  body: {
    version: string;
    status: string;
    receiver: string;
    alerts: {
      status: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
      startsAt: string;
      endsAt: string;
    }[];
  };
}

/** A loopback HTTP server that records every webhook it is sent and answers 200. */
export async function startReceiver(): Promise<{
  url: string;
  received: Received[];
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (d: Buffer) => (data += d.toString()));
    req.on('end', () => {
      received.push({
        at: Date.now(),
        path: req.url ?? '',
        auth: req.headers.authorization,
        body: JSON.parse(data) as Received['body'],
      });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface RunningAlertmanager {
  url: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs Debian's Alertmanager with the shipped alerts/alertmanager.yml, its notifier address
 * and token path swapped for the test's own, and its waits shortened so a test sees the
 * notifications in seconds (unless `shippedTimings` is set, for a test of those timings).
 * Nothing else of the file changes.
 */
export async function startAlertmanager(
  binary: string,
  receiverUrl: string,
  token: string,
  options: {
    shippedTimings?: boolean;
    /** A peer of a cluster: its gossip address (127.0.0.1:PORT) and the other peers'. */
    cluster?: { listen: string; peers: string[] };
    /** A given port: a restart where Prometheus already looks for it. */
    port?: number;
  } = {},
): Promise<RunningAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-am-'));
  writeFileSync(join(dir, 'token'), `${token}\n`);
  let config = readFileSync(join(ROOT, 'alerts', 'alertmanager.yml'), 'utf8')
    .replaceAll('http://watchpost-notifier:9851', receiverUrl)
    .replaceAll('/run/secrets/watchpost_notifier_token', join(dir, 'token'));
  if (!options.shippedTimings)
    config = config
      .replace(/group_wait: \d+[sm]/g, 'group_wait: 0s')
      .replace(/group_interval: \d+[sm]/g, 'group_interval: 1s');
  writeFileSync(join(dir, 'alertmanager.yml'), config);
  // A given port: a restart where Prometheus already looks for it.
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const proc: ChildProcess = spawn(
    binary,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--storage.path=${join(dir, 'data')}`,
      ...(options.cluster
        ? [
            `--cluster.listen-address=${options.cluster.listen}`,
            ...options.cluster.peers.map((p) => `--cluster.peer=${p}`),
          ]
        : ['--cluster.listen-address=']),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await eventually(
    async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined),
    15_000,
    'alertmanager ready',
  );
  return {
    url,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}
