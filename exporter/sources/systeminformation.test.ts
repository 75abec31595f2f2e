import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, it } from 'node:test';
import { cpuTemperaturesFromSi, fromSi, osInfoFromSi, siInterfaces, siOsInfo } from './systeminformation.js';

describe('systeminformation adapter', () => {
  it("maps systeminformation's network fields, without inventing a speed it does not know", () => {
    const stats = {
      iface: 'en0',
      operstate: 'up',
      rx_bytes: 1200,
      rx_dropped: 1,
      rx_errors: 2,
      tx_bytes: 3400,
      tx_dropped: 3,
      tx_errors: 4,
      rx_sec: 0,
      tx_sec: 0,
      ms: 0,
    };
    assert.deepEqual(fromSi(stats, { operstate: 'up', speed: 1000 }), {
      device: 'en0',
      receiveBytes: 1200,
      receiveErrors: 2,
      receiveDrops: 1,
      transmitBytes: 3400,
      transmitErrors: 4,
      transmitDrops: 3,
      link: { operstate: 'up', carrier: undefined, speedMbps: 1000 },
    });
    // On Linux it reports speed -1 for virtio, null for loopback.
    assert.equal(fromSi(stats, { operstate: 'up', speed: -1 }).link.speedMbps, undefined);
    assert.equal(
      fromSi({ ...stats, operstate: '' }, { operstate: 'down', speed: null }).link.operstate,
      'down',
    );
  });

  it('reports CPU temperatures only where systeminformation found a sensor', () => {
    assert.deepEqual(
      cpuTemperaturesFromSi({ main: null, cores: [], max: null, socket: [], chipset: null } as never),
      [],
    );
    assert.deepEqual(
      cpuTemperaturesFromSi({ main: 51, cores: [49, 53], max: 53 }).map((s) => [
        s.chip,
        s.sensor,
        s.kind,
        s.celsius,
      ]),
      [
        ['cpu', 'main', 'cpu', 51],
        ['cpu', 'core 0', 'cpu', 49],
        ['cpu', 'core 1', 'cpu', 53],
      ],
    );
  });

  it('reads the real interfaces and OS of this machine', async () => {
    const ifaces = await siInterfaces();
    assert.ok(ifaces.length > 0, 'at least one interface');
    for (const i of ifaces) {
      assert.match(i.device, /^\S+$/);
      assert.ok(Number.isInteger(i.receiveBytes) && i.receiveBytes >= 0);
      assert.ok(Number.isInteger(i.transmitBytes) && i.transmitBytes >= 0);
    }
    const info = await siOsInfo();
    assert.equal(info.id, process.platform);
    assert.equal(info.arch, os.machine());
    assert.equal(info.kernel, os.release());
    assert.ok(info.name.length > 0);
    assert.ok(info.prettyName.startsWith(info.name));
  });

  it("maps systeminformation's OS data to bounded labels", () => {
    assert.deepEqual(osInfoFromSi({ distro: 'macOS', release: '14.2.1', kernel: '23.2.0' }), {
      id: process.platform,
      name: 'macOS',
      versionId: '14.2.1',
      prettyName: 'macOS 14.2.1',
      kernel: '23.2.0',
      arch: os.machine(),
    });
    const info = osInfoFromSi({ distro: 'y'.repeat(300), release: '', kernel: '' });
    assert.equal(info.name, `${'y'.repeat(125)}...`);
    assert.equal(info.prettyName, info.name);
    assert.equal(info.kernel, os.release());
  });
});
