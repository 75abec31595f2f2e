import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConnectionFlood, getFresh, quantile, type Answer } from '../../internal/testing/flood.js';
import { eventually, startCli } from '../../internal/testing/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'watchpost-file-limit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FILE_LIMIT = 256;

function lastSuccess(text: string, collector: string): number | undefined {
  const m = new RegExp(
    `^watchpost_collector_last_success_timestamp_seconds\\{collector="${collector}"\\} (\\S+)$`,
    'm',
  ).exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('the exporter under a low open-file limit (ulimit -n 256) and a connection flood', () => {
  it('lowers max_connections to fit, keeps answering, and the host and disk collectors never fail with EMFILE', async () => {
    const config = join(dir, 'watchpost.yml');
    // max_connections stays at its default (256): with Node's own descriptors it cannot fit in 256.
    writeFileSync(
      config,
      [
        'exporter: { listen: "127.0.0.1:0" }',
        'collectors:',
        '  host: { interval: 1s, timeout: 1s }',
        '  disk: { interval: 1s, timeout: 1s }',
        '  containers: { enabled: false }',
        '',
      ].join('\n'),
    );
    const cli = await startCli(['exporter', '--config', config], {}, { fileLimit: FILE_LIMIT });
    const flood = new ConnectionFlood(cli.port, { total: 3000, batch: 100, maxMs: 120_000 });
    try {
      const before = await getFresh(cli.port, '/metrics');
      assert.equal(before.status, 200);
      const floodStart = Date.now() / 1000;

      // Scrapes on fresh connections all through the flood, each must be answered.
      const answers: Answer[] = [];
      let openFds = 0;
      let flooding = true;
      void flood.done.then(() => (flooding = false));
      while (flooding) {
        for (const path of ['/metrics', '/-/healthy']) answers.push(await getFresh(cli.port, path));
        openFds = Math.max(openFds, readdirSync(`/proc/${cli.proc.pid}/fd`).length);
      }
      // Hold the last of the flood open while both collectors run again at least twice.
      const held = await eventually(
        async () => {
          const a = await getFresh(cli.port, '/metrics');
          answers.push(a);
          const host = lastSuccess(a.body, 'host');
          const disk = lastSuccess(a.body, 'disk');
          return host !== undefined && disk !== undefined && Math.min(host, disk) > floodStart + 2
            ? a
            : undefined;
        },
        60_000,
        'the host and disk collectors to succeed after the flood began',
      );
      const failed = answers.filter((a) => a.status !== 200);
      assert.deepEqual(
        failed.map((a) => `${a.path}: ${a.status}`),
        [],
        'every request during the flood is answered',
      );
      for (const a of answers.filter((x) => x.path === '/metrics')) {
        assert.match(a.body, /^watchpost_collector_success\{collector="host"\} 1$/m);
        assert.match(a.body, /^watchpost_collector_success\{collector="disk"\} 1$/m);
      }
      assert.match(held.body, /^watchpost_host_memory_total_bytes \d+/m);
      assert.ok(flood.opened >= 2000, `${flood.opened} connections opened`);
      assert.ok(openFds < FILE_LIMIT, `${openFds} descriptors open at most`);
      assert.doesNotMatch(cli.stderr(), /EMFILE/);
      assert.match(
        cli.stderr(),
        /level=warn msg="exporter\.max_connections lowered from 256 to \d+: this process may open 256 files/,
      );
      const ms = answers.map((a) => a.ms);
      process.stdout.write(
        `# file limit ${FILE_LIMIT}: ${flood.opened} connections opened, ${flood.closedByServer} closed by the server, ` +
          `${answers.length} requests answered, latency p99 ${quantile(ms, 0.99).toFixed(1)} ms, ` +
          `max ${Math.max(...ms).toFixed(1)} ms, descriptors at most ${openFds}\n`,
      );
    } finally {
      await flood.stop();
      await cli.stop();
    }
  });
});
