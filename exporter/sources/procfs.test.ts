import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseLoadavg, parseMeminfo, parseProcStat, parseUptime, readProcFile, readStat } from './procfs.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixture = (name: string) => readFileSync(`${FIXTURES}${name}`, 'utf8');

// Expected values are read by hand off the fixture lines, which each test first checks
// are still the lines the numbers came from (a recaptured fixture fails loudly here).
describe('parseProcStat', () => {
  it('parses the captured /proc/stat', () => {
    const text = fixture('proc-stat.txt');
    assert.match(text, /^cpu {2}3030 0 1723 203339 202 0 45 11 0 0$/m);
    assert.match(text, /^cpu0 /m);
    assert.match(text, /^cpu1 /m);
    assert.doesNotMatch(text, /^cpu2 /m);
    assert.match(text, /^btime 1795320131$/m);

    assert.deepEqual(parseProcStat(text), {
      cpus: 2,
      // jiffies / USER_HZ (100)
      total: {
        user: 30.3,
        nice: 0,
        system: 17.23,
        idle: 2033.39,
        iowait: 2.02,
        irq: 0,
        softirq: 0.45,
        steal: 0.11,
      },
      bootTimeSeconds: 1795320131,
    });
  });

  it('counts the modes an old kernel does not print as 0', () => {
    const text = 'cpu  100 2 30 4000\ncpu0 100 2 30 4000\nbtime 1000000000\n';
    assert.deepEqual(parseProcStat(text).total, {
      user: 1,
      nice: 0.02,
      system: 0.3,
      idle: 40,
      iowait: 0,
      irq: 0,
      softirq: 0,
      steal: 0,
    });
  });

  it('ignores guest and guest_nice, which user and nice already include', () => {
    const text = 'cpu  100 0 0 0 0 0 0 0 70 0\ncpu0 100 0 0 0 0 0 0 0 70 0\nbtime 1\n';
    assert.equal(parseProcStat(text).total.user, 1);
  });

  it('rejects garbage, naming the file', () => {
    assert.throws(() => parseProcStat(fixture('garbage.txt')), /^Error: \/proc\/stat: no "cpu" line/);
    assert.throws(() => parseProcStat(fixture('garbage.txt'), '/host/proc/stat'), /\/host\/proc\/stat: /);
  });

  it('rejects a bad cpu line, a missing btime and missing per-CPU lines', () => {
    assert.throws(
      () => parseProcStat('cpu  1 2 x 4\ncpu0 1 2 3 4\nbtime 1\n'),
      /\/proc\/stat: expected at least 4 counters/,
    );
    assert.throws(
      () => parseProcStat('cpu  1 2 3\ncpu0 1 2 3\nbtime 1\n'),
      /\/proc\/stat: expected at least 4 counters/,
    );
    assert.throws(() => parseProcStat('cpu  1 2 3 4\ncpu0 1 2 3 4\n'), /\/proc\/stat: no "btime" line/);
    assert.throws(() => parseProcStat('cpu  1 2 3 4\nbtime 1\n'), /\/proc\/stat: no per-CPU "cpuN" lines/);
    assert.throws(
      () => parseProcStat('cpu  1 2 3 4\ncpu0 1 2 3 4\nbtime soon\n'),
      /\/proc\/stat: expected a Unix time/,
    );
  });
});

describe('parseMeminfo', () => {
  it('parses the captured /proc/meminfo', () => {
    const text = fixture('meminfo.txt');
    assert.match(text, /^MemTotal: +24684084 kB$/m);
    assert.match(text, /^MemAvailable: +24365440 kB$/m);
    assert.match(text, /^SwapTotal: +0 kB$/m);
    assert.match(text, /^SwapFree: +0 kB$/m);

    assert.deepEqual(parseMeminfo(text), {
      memTotalBytes: 24684084 * 1024,
      memAvailableBytes: 24365440 * 1024,
      swapTotalBytes: 0,
      swapFreeBytes: 0,
    });
  });

  it('estimates MemAvailable as MemFree + Buffers + Cached on kernels before 3.14', () => {
    const text = fixture('meminfo-no-memavailable.txt');
    assert.doesNotMatch(text, /^MemAvailable:/m);
    assert.match(text, /^MemTotal: +8061404 kB$/m);
    assert.match(text, /^MemFree: +512340 kB$/m);
    assert.match(text, /^Buffers: +201672 kB$/m);
    assert.match(text, /^Cached: +3874120 kB$/m);
    assert.match(text, /^SwapTotal: +2097148 kB$/m);
    assert.match(text, /^SwapFree: +2080764 kB$/m);

    assert.deepEqual(parseMeminfo(text), {
      memTotalBytes: 8061404 * 1024,
      memAvailableBytes: (512340 + 201672 + 3874120) * 1024,
      swapTotalBytes: 2097148 * 1024,
      swapFreeBytes: 2080764 * 1024,
    });
  });

  it('rejects garbage, naming the file', () => {
    assert.throws(
      () => parseMeminfo(fixture('garbage.txt')),
      /^Error: \/proc\/meminfo: no "MemTotal:" line in kB/,
    );
    assert.throws(
      () => parseMeminfo(fixture('garbage.txt'), '/host/proc/meminfo'),
      /\/host\/proc\/meminfo: /,
    );
  });

  it('rejects a file missing a needed line', () => {
    const noSwap = fixture('meminfo.txt').replace(/^SwapFree:.*$/m, '');
    assert.throws(() => parseMeminfo(noSwap), /\/proc\/meminfo: no "SwapFree:" line/);
    const noCached = fixture('meminfo-no-memavailable.txt').replace(/^Cached:.*$/m, '');
    assert.throws(() => parseMeminfo(noCached), /\/proc\/meminfo: no "Cached:" line/);
  });
});

describe('parseLoadavg', () => {
  it('parses the captured /proc/loadavg', () => {
    const text = fixture('loadavg.txt');
    assert.equal(text, '0.01 0.04 0.01 1/84 3655\n');
    assert.deepEqual(parseLoadavg(text), { load1: 0.01, load5: 0.04, load15: 0.01 });
  });

  it('rejects garbage, naming the file', () => {
    assert.throws(
      () => parseLoadavg(fixture('garbage.txt')),
      /^Error: \/proc\/loadavg: expected "load1 load5 load15/,
    );
    assert.throws(() => parseLoadavg('1.00 2.00\n', '/host/proc/loadavg'), /\/host\/proc\/loadavg: /);
    assert.throws(() => parseLoadavg(''), /\/proc\/loadavg: /);
  });
});

describe('parseUptime', () => {
  it('parses the captured /proc/uptime', () => {
    const text = fixture('uptime.txt');
    assert.equal(text, '1044.47 2033.40\n');
    assert.equal(parseUptime(text), 1044.47);
  });

  it('rejects garbage, naming the file', () => {
    assert.throws(
      () => parseUptime(fixture('garbage.txt')),
      /^Error: \/proc\/uptime: expected "uptime idle"/,
    );
    assert.throws(() => parseUptime('-5 3\n', '/host/proc/uptime'), /\/host\/proc\/uptime: /);
  });
});

describe('readProcFile', () => {
  it('reads a file under the procfs root', async () => {
    assert.equal(await readProcFile(FIXTURES, 'uptime.txt'), '1044.47 2033.40\n');
  });

  it('reads the real /proc/stat, which reports a size of 0', async () => {
    assert.equal(parseProcStat(await readStat('/proc')).cpus > 0, true);
  });

  it('rejects with a message naming the missing file', async () => {
    await assert.rejects(readStat('/nonexistent/procfs'), {
      message: '/nonexistent/procfs/stat does not exist',
    });
  });

  it('honours an aborted signal', async () => {
    await assert.rejects(readStat('/proc', AbortSignal.abort()), { name: 'AbortError' });
  });
});
