import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { linkIsUp, parseLinkState, parseNetDev, readLinkState, readNetDev } from './netdev.js';

const HOST = fileURLToPath(new URL('./fixtures/net-docker-host/', import.meta.url));

describe('parseNetDev', () => {
  it('parses the /proc/net/dev of a Docker host, long bridge names included', () => {
    const text = readFileSync(join(HOST, 'proc/1/net/dev'), 'utf8');
    // The lines the numbers below were read from.
    assert.match(text, /^ {2}eth0: 4741385169 {2}371330 {4}0 {4}0 .* 37243397 {2}324894 {4}0 {4}0 /m);
    assert.match(text, /^br-304faec1dd60: {7}0 {7}0 .* {6}526 {7}5 {4}0 {4}2 /m);

    const all = parseNetDev(text);
    assert.deepEqual(
      all.map((i) => i.device),
      ['lo', 'ifb0', 'ifb1', 'eth0', 'docker0', 'br-304faec1dd60', 'veth40f8616'],
    );
    assert.deepEqual(
      all.find((i) => i.device === 'eth0'),
      {
        device: 'eth0',
        receiveBytes: 4741385169,
        receivePackets: 371330,
        receiveErrors: 0,
        receiveDrops: 0,
        transmitBytes: 37243397,
        transmitPackets: 324894,
        transmitErrors: 0,
        transmitDrops: 0,
      },
    );
    const bridge = all.find((i) => i.device === 'br-304faec1dd60')!;
    assert.equal(bridge.transmitBytes, 526);
    assert.equal(bridge.transmitPackets, 5);
    assert.equal(bridge.transmitDrops, 2);
  });

  it('finds the columns by their header names, not by position', () => {
    // errs and drop swapped in both halves: a parser by position would mix them up.
    const text =
      'Inter-|   Receive                |  Transmit\n' +
      ' face |bytes packets drop errs   |bytes packets drop errs\n' +
      '  eth1: 100 10 7 3 200 20 9 5\n';
    assert.deepEqual(parseNetDev(text)[0], {
      device: 'eth1',
      receiveBytes: 100,
      receivePackets: 10,
      receiveErrors: 3,
      receiveDrops: 7,
      transmitBytes: 200,
      transmitPackets: 20,
      transmitErrors: 5,
      transmitDrops: 9,
    });
  });

  it('keeps counters above 2^32 exact', () => {
    const text =
      'Inter-|   Receive |  Transmit\n face |bytes packets errs drop|bytes packets errs drop\n' +
      '  eth0: 18446744073 1 0 0 9007199254740991 1 0 0\n';
    assert.equal(parseNetDev(text)[0]!.receiveBytes, 18446744073);
    assert.equal(parseNetDev(text)[0]!.transmitBytes, 9007199254740991);
  });

  it('names the file and the line of text it cannot read', () => {
    assert.throws(
      () => parseNetDev('hello\n', '/host/proc/1/net/dev'),
      /^Error: \/host\/proc\/1\/net\/dev: expected the header/,
    );
    const header = readFileSync(join(HOST, 'proc/1/net/dev'), 'utf8').split('\n').slice(0, 2).join('\n');
    assert.throws(
      () => parseNetDev(`${header}\n  eth0: 1 2 3\n`, '/proc/1/net/dev'),
      /^Error: \/proc\/1\/net\/dev line 3: expected "device: 16 counters", got "eth0: 1 2 3"$/,
    );
    assert.throws(() => parseNetDev(`${header}\n  eth0: ${'x '.repeat(16)}\n`), /line 3/);
  });

  it('reads <procfs>/1/net/dev, naming it when it is missing', async () => {
    assert.match(await readNetDev(join(HOST, 'proc')), /^Inter-\|/);
    await assert.rejects(readNetDev('/nonexistent-procfs'), {
      message: '/nonexistent-procfs/1/net/dev does not exist',
    });
  });
});

describe('link state', () => {
  it('reads operstate, carrier and speed as the Docker host showed them', async () => {
    const sysfs = join(HOST, 'sys');
    assert.deepEqual(await readLinkState(sysfs, 'eth0'), {
      operstate: 'up',
      carrier: true,
      speedMbps: undefined,
    });
    assert.deepEqual(await readLinkState(sysfs, 'veth40f8616'), {
      operstate: 'up',
      carrier: true,
      speedMbps: 10000,
    });
    assert.deepEqual(await readLinkState(sysfs, 'docker0'), {
      operstate: 'down',
      carrier: false,
      speedMbps: undefined,
    });
    // ifb0: the kernel answers EINVAL for carrier and speed (absent in the fixture).
    assert.deepEqual(await readLinkState(sysfs, 'ifb0'), {
      operstate: 'down',
      carrier: undefined,
      speedMbps: undefined,
    });
    assert.deepEqual(await readLinkState(sysfs, 'lo'), {
      operstate: 'unknown',
      carrier: true,
      speedMbps: undefined,
    });
    assert.deepEqual(await readLinkState(sysfs, 'nosuch0'), {
      operstate: undefined,
      carrier: undefined,
      speedMbps: undefined,
    });
  });

  it('takes a speed only when the kernel knows it', () => {
    assert.equal(parseLinkState('up', '1', '1000').speedMbps, 1000);
    assert.equal(parseLinkState('up', '1', '-1').speedMbps, undefined);
    assert.equal(parseLinkState('up', '1', '65535').speedMbps, undefined);
    assert.equal(parseLinkState('up', '1', '0').speedMbps, undefined);
    assert.equal(parseLinkState('up', '1', 'fast').speedMbps, undefined);
  });

  it('counts a link as up when operstate is up, or unknown with a carrier (loopback, tun)', () => {
    assert.equal(linkIsUp(parseLinkState('up', '1', undefined)), true);
    assert.equal(linkIsUp(parseLinkState('unknown', '1', undefined)), true);
    assert.equal(linkIsUp(parseLinkState('unknown', '0', undefined)), false);
    assert.equal(linkIsUp(parseLinkState('down', '0', undefined)), false);
    assert.equal(linkIsUp(parseLinkState('lowerlayerdown', undefined, undefined)), false);
    assert.equal(linkIsUp(parseLinkState('dormant', '1', undefined)), false);
    assert.equal(linkIsUp(parseLinkState(undefined, undefined, undefined)), false);
  });

  it('reads a link that was unplugged after it came up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'watchpost-netclass-'));
    try {
      const eth = join(dir, 'class', 'net', 'enp3s0');
      mkdirSync(eth, { recursive: true });
      writeFileSync(join(eth, 'operstate'), 'up\n');
      writeFileSync(join(eth, 'carrier'), '1\n');
      writeFileSync(join(eth, 'speed'), '1000\n');
      assert.equal(linkIsUp(await readLinkState(dir, 'enp3s0')), true);
      writeFileSync(join(eth, 'operstate'), 'down\n');
      writeFileSync(join(eth, 'carrier'), '0\n');
      writeFileSync(join(eth, 'speed'), '-1\n');
      assert.deepEqual(await readLinkState(dir, 'enp3s0'), {
        operstate: 'down',
        carrier: false,
        speedMbps: undefined,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('this machine', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
  it("loopback's counters in /proc/1/net/dev grow by at least the bytes sent over 127.0.0.1", async () => {
    const lo = async () => parseNetDev(await readNetDev('/proc')).find((i) => i.device === 'lo');
    const before = await lo();
    assert.ok(before, 'lo is listed in /proc/1/net/dev');

    const payload = Buffer.alloc(4 * 1024 * 1024, 0x61);
    let received = 0;
    const server = createServer((socket) => {
      socket.on('data', (chunk) => (received += chunk.length));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      await new Promise<void>((resolve, reject) => {
        const client = connect(port, '127.0.0.1', () => client.end(payload));
        client.on('error', reject);
        client.on('close', () => resolve());
      });
      // Wait until the server has read it all: then the kernel has counted it.
      for (let i = 0; i < 600 && received < payload.length; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(received, payload.length);
    } finally {
      server.close();
    }

    const after = await lo();
    assert.ok(after);
    // Other programs use loopback too, so the counters grow by at least what was sent.
    assert.ok(
      after.receiveBytes - before.receiveBytes >= payload.length,
      `rx grew by ${after.receiveBytes - before.receiveBytes}, sent ${payload.length}`,
    );
    assert.ok(after.transmitBytes - before.transmitBytes >= payload.length);
    assert.ok(after.receivePackets > before.receivePackets);
  });
});
