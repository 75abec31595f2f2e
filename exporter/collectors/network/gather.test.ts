import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileUserRegex } from '../../../config/user-regex.js';
import { gatherNetwork, type NetworkOptions } from './gather.js';

const HOST = fileURLToPath(new URL('../../sources/fixtures/net-docker-host/', import.meta.url));
const DEFAULT_EXCLUDE = compileUserRegex('^(lo|veth.*|docker.*|br-.*)$');

const options = (o: Partial<NetworkOptions> = {}): NetworkOptions => ({
  source: 'procfs',
  procfs: `${HOST}proc`,
  sysfs: `${HOST}sys`,
  exclude: DEFAULT_EXCLUDE,
  expected: [],
  ...o,
});
const signal = new AbortController().signal;

describe('gatherNetwork from /proc and /sys', () => {
  it("leaves out loopback and Docker's bridges and veths on a Docker host by default", async () => {
    const rows = await gatherNetwork(options(), signal);
    assert.deepEqual(
      rows.map((r) => r.device),
      ['eth0', 'ifb0', 'ifb1'],
    );
    assert.deepEqual(rows[0], {
      device: 'eth0',
      counters: {
        receiveBytes: 4741385169,
        receivePackets: 371330,
        receiveErrors: 0,
        receiveDrops: 0,
        transmitBytes: 37243397,
        transmitPackets: 324894,
        transmitErrors: 0,
        transmitDrops: 0,
      },
      up: true,
      expected: false,
    });
    assert.equal(rows[1]!.up, false);
  });

  it('reports an expected interface even when excluded, and an expected one the host lacks as down', async () => {
    const rows = await gatherNetwork(options({ expected: ['eth0', 'veth40f8616', 'eth1'] }), signal);
    assert.deepEqual(
      rows.map((r) => [r.device, r.up, r.expected, r.speedBytes]),
      [
        ['eth0', true, true, undefined],
        ['eth1', false, true, undefined],
        ['ifb0', false, false, undefined],
        ['ifb1', false, false, undefined],
        // 10000 Mbit/s as the veth driver reports it.
        ['veth40f8616', true, true, 1_250_000_000],
      ],
    );
    assert.equal(rows.find((r) => r.device === 'eth1')!.counters, undefined);
  });

  it('takes any pattern: excluding nothing lists every interface, loopback up', async () => {
    const rows = await gatherNetwork(options({ exclude: compileUserRegex('^$') }), signal);
    assert.equal(rows.length, 7);
    assert.equal(rows.find((r) => r.device === 'lo')!.up, true);
    assert.equal(rows.find((r) => r.device === 'docker0')!.up, false);
    assert.equal(rows.find((r) => r.device === 'br-304faec1dd60')!.speedBytes, 1_250_000_000);
  });

  it('fails naming the file when procfs has no net/dev (a wrong paths.procfs)', async () => {
    await assert.rejects(gatherNetwork(options({ procfs: '/nonexistent' }), signal), {
      message: '/nonexistent/1/net/dev does not exist',
    });
  });

  it('stops when aborted', async () => {
    const c = new AbortController();
    c.abort(new Error('timeout'));
    await assert.rejects(gatherNetwork(options(), c.signal), { message: 'timeout' });
  });
});

describe('gatherNetwork through systeminformation, forced on Linux', () => {
  it('reads the interfaces of this machine without packet counters, and honours the pattern', async () => {
    const rows = await gatherNetwork(
      options({ source: 'systeminformation', exclude: compileUserRegex('^$'), expected: ['wp-missing0'] }),
      signal,
    );
    const missing = rows.find((r) => r.device === 'wp-missing0');
    assert.deepEqual(missing, { device: 'wp-missing0', up: false, expected: true });
    const present = rows.filter((r) => r.counters);
    assert.ok(present.length > 0);
    for (const r of present) {
      assert.equal(r.counters!.receivePackets, undefined);
      assert.ok(r.counters!.receiveBytes >= 0);
    }
    const excluded = await gatherNetwork(
      options({ source: 'systeminformation', exclude: compileUserRegex('.*') }),
      signal,
    );
    assert.deepEqual(excluded, []);
  });
});
