import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FakeMediamtx } from '../../internal/testing/fake-mediamtx.js';
import { ConnectionFlood, peakRss, quantile } from '../../internal/testing/flood.js';
import { eventually, startCli, type RunningCli } from '../../internal/testing/helpers.js';

/**
 * Everything issue 13 saw freeze or bloat the exporter, at once, against the built CLI:
 * a user regex with nested quantifiers fed a hostile line stream, stream servers that send
 * an endless 200 body, a body that trickles past the deadline and a 48 MB stat page, and a
 * flood of idle connections. Through it all /metrics and /-/healthy must keep answering
 * (each request's latency is reported), peak RSS stays below 300 MB, the bad servers fail
 * with their reason, and every other collector keeps succeeding.
 */

const dir = mkdtempSync(join(tmpdir(), 'watchpost-abuse-'));
const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Serves every request with `handler` on a free loopback port; returns its base URL. */
async function serve(handler: (res: ServerResponse) => void): Promise<string> {
  const server = createServer((_req, res) => handler(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A MediaMTX-like API whose 200 answer never ends (stops after 2 minutes, or when the reader leaves). */
function endless(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"itemCount":1,"pageCount":1,"items":[');
  const chunk = Buffer.from('{"name":"x","ready":true},'.repeat(2000));
  const until = Date.now() + 120_000;
  const pump = () => {
    while (!res.destroyed && Date.now() < until) {
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.destroy();
  };
  res.once('close', () => res.removeAllListeners('drain'));
  pump();
}

/** A MediaMTX-like API that sends a byte every 200 ms: headers at once, a body that never completes in time. */
function trickle(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  let n = 0;
  const timer = setInterval(() => {
    if (res.destroyed || n++ > 600) {
      clearInterval(timer);
      res.destroy();
      return;
    }
    res.write(' ');
  }, 200);
  res.once('close', () => clearInterval(timer));
}

/** A well-formed nginx-rtmp stat page of ~48 MB (380,000 streams). */
function bigStatPage(): Buffer {
  const parts = ['<?xml version="1.0" encoding="utf-8" ?><rtmp><uptime>5</uptime><server><application>'];
  parts.push('<name>live</name><live>');
  for (let i = 0; i < 380_000; i++) {
    parts.push(
      `<stream><name>cam${i}</name><time>1000</time><bytes_in>1</bytes_in><bytes_out>1</bytes_out><nclients>1</nclients><publishing/><active/></stream>`,
    );
  }
  parts.push('</live></application></server></rtmp>');
  return Buffer.from(parts.join(''));
}

/** Lines that make a backtracking engine explode on ^(\w+\s?)*: ...$: word runs that end without the colon. */
function hostileLine(i: number): string {
  const words = 8 + (i % 200);
  return `${Array.from({ length: words }, (_, w) => 'ab'.repeat(1 + ((i + w) % 3))).join(' ')}!`;
}

/**
 * Requests /metrics and /-/healthy on fresh connections from a process of its own (so the
 * load generated here does not delay it), one after another until `stopFile` exists;
 * prints one JSON line per request.
 */
const SAMPLER = `
const http = require('node:http');
const fs = require('node:fs');
const [port, stopFile] = process.argv.slice(1);
const one = (path) => new Promise((resolve) => {
  const t0 = performance.now();
  const req = http.get({ host: '127.0.0.1', port: Number(port), path, agent: false }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => (body += c));
    res.on('end', () => {
      const m = /^nodejs_eventloop_lag_max_seconds (\\S+)$/m.exec(body);
      resolve({ path, status: res.statusCode, ms: performance.now() - t0, ...(m ? { lagMax: Number(m[1]) } : {}) });
    });
    res.on('error', (e) => resolve({ path, status: e.message, ms: performance.now() - t0 }));
  });
  req.setTimeout(10000, () => req.destroy(new Error('no answer within 10 s')));
  req.on('error', (e) => resolve({ path, status: e.message, ms: performance.now() - t0 }));
});
(async () => {
  while (!fs.existsSync(stopFile)) {
    for (const path of ['/metrics', '/-/healthy']) process.stdout.write(JSON.stringify(await one(path)) + '\\n');
    await new Promise((r) => setTimeout(r, 50));
  }
})();
`;

interface Sample {
  path: string;
  status: number | string;
  ms: number;
  /** The exporter's own event-loop lag, the most in the last process-metrics interval. */
  lagMax?: number;
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('the exporter under abuse: hostile regex input, endless and huge bodies, a connection flood', () => {
  it('keeps answering /metrics and /-/healthy, stays below 300 MB, and reports each bad server with its reason', async () => {
    const big = bigStatPage();
    const endlessUrl = await serve(endless);
    const trickleUrl = await serve(trickle);
    const bigUrl = await serve((res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(big);
    });
    const cams = new FakeMediamtx();
    cams.paths = [{ name: 'cam1', ready: true, readers: 1 }];
    await cams.start();

    const log = join(dir, 'app.log');
    writeFileSync(log, '');
    const config = join(dir, 'watchpost.yml');
    writeFileSync(
      config,
      [
        'exporter: { listen: "127.0.0.1:0" }',
        'collectors:',
        '  host: { interval: 1s, timeout: 1s }',
        '  disk: { interval: 1s, timeout: 1s }',
        '  containers: { enabled: false }',
        '  streams:',
        '    interval: 3s',
        '    timeout: 2s',
        '    servers:',
        `      - { name: endless, kind: mediamtx, url: "${endlessUrl}" }`,
        `      - { name: trickle, kind: mediamtx, url: "${trickleUrl}" }`,
        `      - { name: big, kind: nginx-rtmp, url: "${bigUrl}/stat" }`,
        `      - { name: cams, kind: mediamtx, url: "${cams.url}" }`,
        '  logs:',
        '    interval: 1s',
        '    timeout: 1s',
        '    sources:',
        `      - name: app`,
        `        file: ${log}`,
        '        format: regex',
        '        regex:',
        "          failure: '^(\\w+\\s?)*: login failed from (?<client>\\S+)$'",
        '',
      ].join('\n'),
    );

    let cli: RunningCli | undefined;
    let flood: ConnectionFlood | undefined;
    let writer: NodeJS.Timeout | undefined;
    const stopFile = join(dir, 'stop-sampling');
    let sampled = '';
    let sampleExited: Promise<void> | undefined;
    try {
      cli = await startCli(['exporter', '--config', config]);
      const port = cli.port;
      // Sampling starts with the abuse.
      const sampler = spawn(process.execPath, ['-e', SAMPLER, String(port), stopFile], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      sampler.stdout.on('data', (d: Buffer) => (sampled += d.toString()));
      sampleExited = new Promise<void>((r) => sampler.once('exit', () => r()));

      // A file present when following starts is read from its end: write only once it is followed.
      await eventually(
        async () => {
          const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          return metric(t, 'watchpost_log_source_up{source="app"}') === 1 ? true : undefined;
        },
        30_000,
        'the log to be followed',
      );

      // The hostile line stream: 40 lines every 50 ms, one in 40 a real failure to be counted.
      let failuresWritten = 0;
      let hostileWritten = 0;
      writer = setInterval(() => {
        const lines: string[] = [];
        for (let i = 0; i < 39; i++) lines.push(hostileLine(hostileWritten++));
        lines.push('alice: login failed from 10.9.8.7');
        failuresWritten++;
        appendFileSync(log, `${lines.join('\n')}\n`);
      }, 50);

      flood = new ConnectionFlood(port, { total: 5000, batch: 100, maxMs: 60_000 });
      const abuseStart = Date.now();
      const cpuStart = cpuSeconds(cli.proc.pid!);
      await flood.done;
      // Let the streams collector run a few times under the whole load.
      const scrape = async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        return res.text();
      };
      let text = await eventually(
        async () => {
          const t = await scrape();
          const ts = metric(t, 'watchpost_collector_last_success_timestamp_seconds{collector="streams"}');
          return ts !== undefined && ts * 1000 > abuseStart + 20_000 ? t : undefined;
        },
        120_000,
        'the streams collector to run 20 s into the abuse',
      );
      clearInterval(writer);
      writer = undefined;
      const cpuUsed = cpuSeconds(cli.proc.pid!) - cpuStart;
      const abuseSeconds = (Date.now() - abuseStart) / 1000;
      const rssPeak = peakRss(readFileSync(`/proc/${cli.proc.pid}/status`, 'utf8'));
      writeFileSync(stopFile, '');
      await sampleExited;

      // Every failure line was counted: the hostile ones did not stall the log collector.
      let counted: number | undefined;
      let lines: number | undefined;
      text = await eventually(
        async () => {
          const t = await scrape();
          counted = metric(t, 'watchpost_auth_failures_by_client_total{source="app",client="10.9.8.7"}');
          lines = metric(t, 'watchpost_log_lines_total{source="app"}');
          return counted === failuresWritten ? t : undefined;
        },
        60_000,
        'every failure line to be counted',
      ).catch((err: Error) => {
        throw new Error(
          `${err.message}: ${counted} of ${failuresWritten} counted, ${lines} of ${failuresWritten + hostileWritten} lines read`,
        );
      });

      const samples = sampled
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Sample);
      if (process.env.ABUSE_DUMP) writeFileSync(process.env.ABUSE_DUMP, sampled);
      const bad = samples.filter((s) => s.status !== 200);
      assert.ok(samples.length >= 20, `${samples.length} requests sampled`);
      assert.deepEqual(
        bad.map((s) => `${s.path}: ${s.status}`),
        [],
        'every /metrics and /-/healthy request is answered',
      );
      assert.ok(rssPeak < 300 * 1024 * 1024, `peak RSS ${(rssPeak / 2 ** 20).toFixed(0)} MiB`);

      assert.equal(metric(text, 'watchpost_stream_server_up{server="endless",kind="mediamtx"}'), 0);
      assert.equal(
        metric(text, 'watchpost_stream_server_failure_reason{server="endless",reason="too_large"}'),
        1,
      );
      assert.equal(metric(text, 'watchpost_stream_server_up{server="big",kind="nginx-rtmp"}'), 0);
      assert.equal(
        metric(text, 'watchpost_stream_server_failure_reason{server="big",reason="too_large"}'),
        1,
      );
      assert.equal(metric(text, 'watchpost_stream_server_up{server="trickle",kind="mediamtx"}'), 0);
      assert.equal(
        metric(text, 'watchpost_stream_server_failure_reason{server="trickle",reason="timeout"}'),
        1,
      );
      assert.equal(metric(text, 'watchpost_stream_server_up{server="cams",kind="mediamtx"}'), 1);
      for (const c of ['host', 'disk', 'streams', 'logs'])
        assert.equal(metric(text, `watchpost_collector_success{collector="${c}"}`), 1, c);
      assert.ok(flood.opened >= 2000, `${flood.opened} connections opened`);

      const line = (path: string) => {
        const ms = samples.filter((s) => s.path === path).map((s) => s.ms);
        return `${path} ${ms.length} requests, p50 ${quantile(ms, 0.5).toFixed(1)} ms, p99 ${quantile(ms, 0.99).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`;
      };
      process.stdout.write(
        `# abuse: ${flood.opened} connections, ${hostileWritten} hostile lines, ${failuresWritten} failures counted; ` +
          `${line('/metrics')}; ${line('/-/healthy')}; ` +
          `exporter event-loop lag at most ${(1000 * Math.max(0, ...samples.map((s) => s.lagMax ?? 0))).toFixed(0)} ms; ` +
          `exporter CPU ${cpuUsed.toFixed(1)} s in ${abuseSeconds.toFixed(1)} s; ` +
          `peak RSS ${(rssPeak / 2 ** 20).toFixed(0)} MiB\n`,
      );
    } finally {
      if (writer) clearInterval(writer);
      writeFileSync(stopFile, '');
      await sampleExited;
      await flood?.stop();
      await cli?.stop();
      await cams.stop();
    }
  });
});
