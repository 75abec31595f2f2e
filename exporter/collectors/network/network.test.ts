import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseConfigText } from '../../../config/load.js';
import { silentLogger } from '../../../internal/log.js';
import { collectSamples, collectText } from '../../../test/samples.js';
import { network } from './index.js';
import { NetworkCollector } from './network.js';

const HOST = fileURLToPath(new URL('../../sources/fixtures/net-docker-host/', import.meta.url));

const make = (yaml: string) =>
  new NetworkCollector({
    config: parseConfigText(
      `paths: { procfs: "${HOST}proc", sysfs: "${HOST}sys" }\n${yaml}`,
      'watchpost.yml',
      {},
    ),
    log: silentLogger,
  });

describe('NetworkCollector', () => {
  it('exports counters, link state and speed of the interfaces a Docker host has, Docker and loopback left out', async () => {
    const c = make('collectors: { network: { source: procfs, expected: [eth0, veth40f8616] } }');
    const s = await collectSamples(c);
    assert.deepEqual(Object.fromEntries([...s].filter(([k]) => k.includes('device="eth0"'))), {
      'watchpost_network_receive_bytes_total{device="eth0"}': 4741385169,
      'watchpost_network_transmit_bytes_total{device="eth0"}': 37243397,
      'watchpost_network_receive_packets_total{device="eth0"}': 371330,
      'watchpost_network_transmit_packets_total{device="eth0"}': 324894,
      'watchpost_network_receive_errors_total{device="eth0"}': 0,
      'watchpost_network_transmit_errors_total{device="eth0"}': 0,
      'watchpost_network_receive_drops_total{device="eth0"}': 0,
      'watchpost_network_transmit_drops_total{device="eth0"}': 0,
      'watchpost_network_link_up{device="eth0"}': 1,
      // virtio reports no speed: no series, not 0.
      'watchpost_network_interface_expected{device="eth0"}': 1,
    });
    const devices = new Set([...s.keys()].map((k) => /device="([^"]+)"/.exec(k)?.[1]));
    assert.deepEqual([...devices].sort(), ['eth0', 'ifb0', 'ifb1', 'veth40f8616']);
    assert.equal(s.get('watchpost_network_speed_bytes{device="veth40f8616"}'), 1_250_000_000);
    assert.equal(s.get('watchpost_network_link_up{device="ifb0"}'), 0);
    assert.equal(s.get('watchpost_network_interface_expected{device="ifb0"}'), undefined);
    assert.deepEqual(c.notes(), []);
  });

  it('reports an expected interface the host lacks as down, without counters, and says so on the status page', async () => {
    const c = make('collectors: { network: { source: procfs, expected: [eth1] } }');
    const s = await collectSamples(c);
    assert.equal(s.get('watchpost_network_link_up{device="eth1"}'), 0);
    assert.equal(s.get('watchpost_network_interface_expected{device="eth1"}'), 1);
    assert.equal(s.get('watchpost_network_receive_bytes_total{device="eth1"}'), undefined);
    assert.deepEqual(c.notes(), [
      'expected interface eth1 does not exist on this host (reported as down); see collectors.network.expected',
    ]);
  });

  it('writes HELP and TYPE for every family, counters as counters, in the exposition format', async () => {
    const text = await collectText(make('collectors: { network: { source: procfs } }'));
    assert.match(text, /^# TYPE watchpost_network_receive_bytes_total counter$/m);
    assert.match(text, /^# TYPE watchpost_network_link_up gauge$/m);
    assert.match(text, /^# HELP watchpost_network_interface_expected Always 1, /m);
    assert.equal(network.families.length, 11);
  });

  it('fails the run, naming the file, when paths.procfs is wrong', async () => {
    const c = new NetworkCollector({
      config: parseConfigText(
        'paths: { procfs: /nonexistent }\ncollectors: { network: { source: procfs } }',
        'w.yml',
        {},
      ),
      log: silentLogger,
    });
    await assert.rejects(c.collect(new AbortController().signal), {
      message: '/nonexistent/1/net/dev does not exist',
    });
  });

  it('falls back to systeminformation when told to, on this Linux machine too (as on macOS)', async () => {
    const c = new NetworkCollector({
      config: parseConfigText(
        'collectors: { network: { source: systeminformation, exclude_devices: "^$" } }',
        'w.yml',
        {},
      ),
      log: silentLogger,
    });
    const s = await collectSamples(c);
    const bytes = [...s.keys()].filter((k) => k.startsWith('watchpost_network_receive_bytes_total{'));
    assert.ok(bytes.length > 0, 'systeminformation listed at least one interface');
    assert.equal([...s.keys()].filter((k) => k.includes('_packets_total')).length, 0, 'no packet counters');
  });

  it('rejects a bad setting naming the key and what was expected', () => {
    assert.throws(
      () => parseConfigText('collectors:\n  network:\n    source: kernel\n', 'watchpost.yml', {}),
      (err: unknown) =>
        err instanceof ConfigError &&
        /watchpost\.yml:3.*collectors\.network\.source.*expected one of "auto", "procfs", "systeminformation"$/.test(
          String(err),
        ),
    );
    assert.throws(
      () => parseConfigText('collectors:\n  network:\n    expected: ["eth/0"]\n', 'watchpost.yml', {}),
      (err: unknown) => err instanceof ConfigError && /collectors\.network\.expected\.0/.test(String(err)),
    );
    assert.throws(
      () => parseConfigText('collectors:\n  network:\n    exclude_devices: "(a"\n', 'watchpost.yml', {}),
      (err: unknown) =>
        err instanceof ConfigError && /exclude_devices.*invalid regular expression/s.test(String(err)),
    );
  });
});
