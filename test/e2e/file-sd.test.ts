import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeCa } from '../../internal/testing/certs.js';
import { startCentralPrometheus } from './central.js';
import { eventually, requireBinary, runCli, skipWithout, startCli } from '../../internal/testing/helpers.js';

/**
 * "Several hosts pulled" (docs/scaling.md): an exporter serving TLS with the bearer token,
 * listed with `watchpost targets add`, scraped by a real Prometheus running the shipped
 * central config through file_sd; `targets remove` takes it out again.
 */
describe('file_sd targets and a TLS exporter', { skip: skipWithout('prometheus', 'openssl') }, () => {
  it('Prometheus finds, scrapes and drops the exporter as the targets command edits the file', async (t) => {
    const prom = requireBinary(t, 'prometheus');
    const openssl = requireBinary(t, 'openssl');
    if (!prom || !openssl) return;
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-filesd-'));
    const ca = makeCa(openssl, dir);
    const cert = ca.issue('exporter');
    const token = 'file-sd-metrics-token-3f9a1c';
    writeFileSync(join(dir, 'token'), `${token}\n`, { mode: 0o600 });
    const configFile = join(dir, 'watchpost.yml');
    writeFileSync(
      configFile,
      [
        'exporter:',
        '  listen: 127.0.0.1:0',
        '  bearer_token_file: token',
        `  tls: { cert_file: ${cert.certFile}, key_file: ${cert.keyFile} }`,
        'collectors:',
        '  containers: { enabled: false }',
        '',
      ].join('\n'),
    );
    const exporter = await startCli(['exporter', '--config', configFile]);
    const targetsDir = join(dir, 'targets');
    mkdirSync(targetsDir);
    const central = await startCentralPrometheus(prom, {
      targetsDir,
      caFile: ca.caFile,
      metricsToken: token,
      interval: '1s',
    });
    try {
      const file = join(targetsDir, 'exporters.json');
      const address = `127.0.0.1:${exporter.port}`;
      const added = runCli([
        'targets',
        'add',
        address,
        '--site',
        'lyon',
        '--host',
        'recorder-1',
        '--file',
        file,
      ]);
      assert.equal(added.status, 0, added.stderr);
      assert.match(added.stdout, /^added 127\.0\.0\.1:\d+ \(site lyon, host recorder-1\)/);
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), [
        { targets: [address], labels: { site: 'lyon', host: 'recorder-1' } },
      ]);

      // Scraped over TLS with the token: up is 1 and every series carries site and host.
      await eventually(
        async () => {
          return (await central.query('up{job="watchpost",site="lyon",host="recorder-1"} == 1')).length === 1
            ? true
            : undefined;
        },
        60_000,
        'the TLS exporter scraped through file_sd',
      );
      const info = await central.query('watchpost_exporter_build_info');
      assert.equal(info.length, 1);
      assert.equal(info[0]!.metric.site, 'lyon');
      assert.equal(info[0]!.metric.host, 'recorder-1');
      assert.equal(info[0]!.metric.instance, address);
      // Every scraped series (the rules' own ALERTS series aside) carries the target's labels.
      const unlabelled = await central.query('count({job="watchpost", site="", __name__!~"ALERTS.*"})');
      assert.deepEqual(unlabelled, []);

      const listed = runCli(['targets', 'list', '--file', file]);
      assert.match(listed.stdout, /lyon\s+recorder-1\s+127\.0\.0\.1:\d+/);

      const removed = runCli(['targets', 'remove', address, '--file', file]);
      assert.equal(removed.status, 0, removed.stderr);
      await eventually(
        async () => ((await central.targets('watchpost')).length === 0 ? true : undefined),
        60_000,
        'the removed target dropped',
      );
      const again = runCli(['targets', 'remove', address, '--file', file]);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /is not in/);
    } finally {
      await central.stop();
      await exporter.stop();
    }
  });
});
