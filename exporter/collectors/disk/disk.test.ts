import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { defaultConfig } from '../../../config/load.js';
import { silentLogger } from '../../../internal/log.js';
import type { Config } from '../../../config/schema.js';
import { renderFamilies, Snapshot } from '../../metric-families.js';
import { parseMountinfo, type FsStats } from '../../sources/mounts.js';
import { promtoolCheckMetrics, requireBinary } from '../../../internal/testing/helpers.js';
import {
  DiskCollector,
  mountsFromSi,
  selectFilesystems,
  usedRatio,
  type DiskCollectorOptions,
} from './disk.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../sources/fixtures/${name}`, import.meta.url), 'utf8');

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-disk-'));
  temps.push(dir);
  return dir;
}
const collectors: DiskCollector[] = [];
after(() => {
  for (const c of collectors) c.close();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function defaults() {
  const d = defaultConfig().collectors.disk;
  return { excludeFstypes: d.exclude_fstypes, excludeMountpoints: new RegExp(d.exclude_mountpoints) };
}

/** A procfs folder whose self/mountinfo (and 1/mountinfo) list these mounts. */
function fakeProcfs(
  mounts: { mountpoint: string; dev: string; fstype?: string; device?: string; ro?: boolean }[],
  pid = 'self',
): string {
  const procfs = tempDir();
  mkdirSync(join(procfs, pid));
  writeMounts(procfs, mounts, pid);
  return procfs;
}
function writeMounts(
  procfs: string,
  mounts: { mountpoint: string; dev: string; fstype?: string; device?: string; ro?: boolean }[],
  pid = 'self',
) {
  const lines = mounts.map(
    (m, i) =>
      `${100 + i} 1 ${m.dev} / ${m.mountpoint.replace(/ /g, '\\040')} ${m.ro ? 'ro' : 'rw'},relatime - ${m.fstype ?? 'ext4'} ${m.device ?? '/dev/sd' + i} rw`,
  );
  writeFileSync(join(procfs, pid, 'mountinfo'), lines.join('\n') + '\n');
}

function config(edit: (c: Config) => void = () => {}): Config {
  const c = defaultConfig();
  edit(c);
  return c;
}

function collector(cfg: Config, opts?: DiskCollectorOptions): DiskCollector {
  const c = new DiskCollector({ config: cfg, log: silentLogger }, opts);
  collectors.push(c);
  return c;
}

/** The snapshot the runner last served for each collector. */
const served = new WeakMap<DiskCollector, Snapshot>();

async function run(c: DiskCollector): Promise<void> {
  const snapshot = await c.collect(new AbortController().signal);
  snapshot.accept();
  served.set(c, snapshot);
}

/** label set (JSON of the sorted labels) → value, for one metric family. */
async function values(c: DiskCollector, name: string): Promise<Map<string, number>> {
  const family = c.families.find((f) => f.name === name);
  assert.ok(family, `${name} is declared`);
  const out = new Map<string, number>();
  for (const v of served.get(c)?.samples(family) ?? []) out.set(key(v.labels), v.value);
  return out;
}
function key(labels: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))));
}
const fsKey = (mountpoint: string, device: string, fstype = 'ext4') => key({ device, mountpoint, fstype });

function stats(sizeBytes: number, freeBytes: number, availBytes: number): FsStats {
  return { sizeBytes, freeBytes, availBytes, files: 1000, filesFree: 400 };
}

describe('selectFilesystems', () => {
  test("this machine's mount table: only the real disk", () => {
    const kept = selectFilesystems(parseMountinfo(fixture('mountinfo-host.txt')), defaults());
    assert.deepEqual(kept, [
      { device: '/dev/vda', mountpoint: '/', fstype: 'ext4', majorMinor: '254:0', readonly: false },
    ]);
  });

  test("a Docker container's view: data mounts once each, no overlay, kernel or Docker files", () => {
    const kept = selectFilesystems(parseMountinfo(fixture('mountinfo-container.txt')), defaults());
    assert.deepEqual(kept, [
      // /var/www/uploads is another bind mount of the same host disk: reported as /data.
      { device: '/dev/nvme0n1p2', mountpoint: '/data', fstype: 'ext4', majorMinor: '259:2', readonly: false },
      { device: '/dev/sdc1', mountpoint: '/mnt/backups', fstype: 'ext4', majorMinor: '8:33', readonly: true },
      {
        device: '/dev/sdb1',
        mountpoint: '/mnt/camera archive',
        fstype: 'xfs',
        majorMinor: '8:17',
        readonly: false,
      },
      {
        device: 'nas.lan:/export/recordings',
        mountpoint: '/mnt/nas',
        fstype: 'nfs4',
        majorMinor: '0:61',
        readonly: false,
      },
    ]);
  });

  test('bind mounts of one filesystem: the shortest mount point, then the first alphabetically', () => {
    const kept = selectFilesystems(parseMountinfo(fixture('mountinfo-container.txt')), {
      excludeFstypes: [],
      excludeMountpoints: /^$/,
    });
    const byDev = Object.fromEntries(kept.map((f) => [f.majorMinor, f.mountpoint]));
    assert.equal(byDev['259:2'], '/data'); // not /etc/hosts, /etc/hostname, /var/www/uploads
    assert.equal(byDev['0:97'], '/proc'); // not /proc/bus, /proc/sys …
    assert.equal(byDev['0:98'], '/dev'); // not /proc/kcore
    assert.equal(kept.length, new Set(kept.map((f) => f.majorMinor)).size);

    const tie = selectFilesystems(
      parseMountinfo('1 0 8:1 / /srv/b rw - ext4 /dev/sda1 rw\n2 0 8:1 / /srv/a rw - ext4 /dev/sda1 rw\n'),
      defaults(),
    );
    assert.deepEqual(
      tie.map((f) => f.mountpoint),
      ['/srv/a'],
    );
  });

  test('a later mount at the same mount point hides the earlier one', () => {
    const kept = selectFilesystems(
      parseMountinfo('1 0 8:1 / /srv rw - ext4 /dev/sda1 rw\n2 0 8:17 / /srv rw - xfs /dev/sdb1 rw\n'),
      defaults(),
    );
    assert.deepEqual(
      kept.map((f) => [f.mountpoint, f.device]),
      [['/srv', '/dev/sdb1']],
    );
  });

  test('the exclusion regex and fstypes apply', () => {
    const kept = selectFilesystems(parseMountinfo(fixture('mountinfo-container.txt')), {
      excludeFstypes: ['nfs4', 'overlay'],
      excludeMountpoints: /^\/(mnt\/backups|etc|proc|sys|dev)($|\/)/,
    });
    assert.deepEqual(
      kept.map((f) => f.mountpoint),
      ['/data', '/mnt/camera archive', '/run/secrets/db_password'],
    );
  });
});

test('usedRatio is df’s Use%: used / (used + avail), 0 for an empty filesystem', () => {
  assert.equal(usedRatio(stats(1000, 300, 200)), 700 / 900);
  assert.equal(usedRatio(stats(1000, 1000, 1000)), 0);
  assert.equal(usedRatio(stats(1000, 50, 0)), 1); // only the root reserve left: full for users
  assert.equal(usedRatio(stats(0, 0, 0)), 0);
});

describe('DiskCollector through systeminformation (systems without /proc)', () => {
  test('lists the mounts through systeminformation and reports the real root filesystem', async () => {
    // A procfs that does not exist: the mount table must come from systeminformation.
    const c = collector(
      config((cfg) => {
        cfg.paths.procfs = '/nonexistent/watchpost-procfs';
        cfg.collectors.disk.source = 'systeminformation';
        cfg.collectors.disk.exclude_fstypes = cfg.collectors.disk.exclude_fstypes.filter(
          (t) => t !== 'overlay',
        );
      }),
    );
    await run(c);
    const sizes = await values(c, 'watchpost_filesystem_size_bytes');
    const root = [...sizes].find(([label]) => JSON.parse(label).mountpoint === '/');
    assert.ok(root, `the root filesystem is reported (got ${[...sizes.keys()].join(' ')})`);
    const ref = statfsSync('/');
    assert.equal(root[1], ref.blocks * ref.bsize);
    assert.equal((await values(c, 'watchpost_filesystem_device_error')).get(root[0]), 0);
    assert.equal((await values(c, 'watchpost_filesystem_readonly')).get(root[0]), 0);
  });

  test('reads mountinfo by default on Linux', async (t) => {
    if (process.platform !== 'linux') return t.skip('Linux only');
    const c = collector(config((cfg) => (cfg.paths.procfs = '/nonexistent/watchpost-procfs')));
    await assert.rejects(c.collect(new AbortController().signal), /\/nonexistent\/watchpost-procfs\//);
  });

  test('reports a device mounted twice once, under its shortest mount point', () => {
    const mounts = mountsFromSi([
      { device: '/dev/disk3s1', mountpoint: '/System/Volumes/Data', fstype: 'apfs', readonly: false },
      { device: '/dev/disk3s1', mountpoint: '/', fstype: 'apfs', readonly: false },
      { device: '/dev/disk4s1', mountpoint: '/Volumes/Backup', fstype: 'hfs', readonly: true },
    ]);
    assert.deepEqual(
      selectFilesystems(mounts, defaults()).map((f) => [f.device, f.mountpoint, f.readonly]),
      [
        ['/dev/disk3s1', '/', false],
        ['/dev/disk4s1', '/Volumes/Backup', true],
      ],
    );
  });
});

describe('DiskCollector', () => {
  test("reports this machine's real disk as statfs sees it", async () => {
    let c = collector(config());
    await run(c);
    let sizes = await values(c, 'watchpost_filesystem_size_bytes');
    if (sizes.size === 0) {
      // In a container / is an overlay, excluded by default: measure it anyway.
      c = collector(
        config(
          (cfg) =>
            (cfg.collectors.disk.exclude_fstypes = cfg.collectors.disk.exclude_fstypes.filter(
              (t) => t !== 'overlay',
            )),
        ),
      );
      await run(c);
      sizes = await values(c, 'watchpost_filesystem_size_bytes');
    }
    assert.ok(sizes.size > 0, 'at least one real filesystem is reported');
    // "/" if reported, else the largest.
    const [label, size] = [...sizes].sort(
      ([a, x], [b, y]) =>
        Number(JSON.parse(b).mountpoint === '/') - Number(JSON.parse(a).mountpoint === '/') || y - x,
    )[0]!;
    const { mountpoint } = JSON.parse(label) as { mountpoint: string };
    const ref = statfsSync(mountpoint);
    assert.ok(size > 0);
    assert.equal(size, ref.blocks * ref.bsize);
    const close = (got: number | undefined, want: number) =>
      assert.ok(got !== undefined && Math.abs(got - want) < 256 * 2 ** 20, `${got} ≈ ${want}`);
    close((await values(c, 'watchpost_filesystem_free_bytes')).get(label), ref.bfree * ref.bsize);
    close((await values(c, 'watchpost_filesystem_avail_bytes')).get(label), ref.bavail * ref.bsize);
    const used = (await values(c, 'watchpost_filesystem_used_ratio')).get(label)!;
    assert.ok(used >= 0 && used <= 1, `used ratio ${used}`);
    const refUsed = (ref.blocks - ref.bfree) / (ref.blocks - ref.bfree + ref.bavail);
    assert.ok(Math.abs(used - refUsed) < 0.01);
    assert.equal((await values(c, 'watchpost_filesystem_files')).get(label), ref.files);
    assert.equal((await values(c, 'watchpost_filesystem_device_error')).get(label), 0);
    assert.equal((await values(c, 'watchpost_filesystem_alert_threshold_ratio')).get(label), 0.85);
    assert.ok([0, 1].includes((await values(c, 'watchpost_filesystem_readonly')).get(label)!));
  });

  test('with rootfs set, reads the host table and stats under rootfs, labelled without the prefix', async () => {
    const rootfs = tempDir();
    mkdirSync(join(rootfs, 'srv/recordings'), { recursive: true });
    mkdirSync(join(rootfs, 'mnt/camera archive'), { recursive: true });
    const procfs = fakeProcfs(
      [
        { mountpoint: '/', dev: '8:1', device: '/dev/sda1' },
        { mountpoint: '/srv/recordings', dev: '8:17', fstype: 'xfs', device: '/dev/sdb1' },
        { mountpoint: '/mnt/camera archive', dev: '8:33', device: '/dev/sdc1', ro: true },
      ],
      '1',
    );
    const calls: string[] = [];
    const c = collector(
      config((cfg) => {
        cfg.paths.procfs = procfs;
        cfg.paths.rootfs = rootfs;
      }),
      {
        statfs: async (path) => {
          calls.push(path);
          const s = statfsSync(path); // real: the paths must exist under rootfs
          return stats(s.blocks * s.bsize, s.bfree * s.bsize, s.bavail * s.bsize);
        },
      },
    );
    await run(c);
    assert.deepEqual(calls.sort(), [
      rootfs,
      join(rootfs, 'mnt/camera archive'),
      join(rootfs, 'srv/recordings'),
    ]);
    const errors = await values(c, 'watchpost_filesystem_device_error');
    assert.deepEqual(
      [...errors.keys()].sort(),
      [
        fsKey('/', '/dev/sda1'),
        fsKey('/mnt/camera archive', '/dev/sdc1'),
        fsKey('/srv/recordings', '/dev/sdb1', 'xfs'),
      ].sort(),
    );
    assert.deepEqual([...errors.values()], [0, 0, 0]);
    assert.equal(
      (await values(c, 'watchpost_filesystem_readonly')).get(fsKey('/mnt/camera archive', '/dev/sdc1')),
      1,
    );
  });

  test("with rootfs set and only the container's own table, takes the host's mounts under rootfs", async () => {
    const rootfs = tempDir();
    const procfs = fakeProcfs([
      { mountpoint: '/', dev: '0:50', fstype: 'overlay', device: 'overlay' },
      { mountpoint: '/data', dev: '8:1', device: '/dev/sda1' },
      { mountpoint: rootfs, dev: '8:1', device: '/dev/sda1' },
      { mountpoint: `${rootfs}/srv`, dev: '8:17', device: '/dev/sdb1' },
    ]);
    const calls: string[] = [];
    const c = collector(
      config((cfg) => {
        cfg.paths.procfs = procfs;
        cfg.paths.rootfs = rootfs;
      }),
      { statfs: async (path) => (calls.push(path), stats(100, 50, 40)) },
    );
    await run(c);
    assert.deepEqual(calls.sort(), [rootfs, `${rootfs}/srv`]);
    assert.deepEqual([...(await values(c, 'watchpost_filesystem_size_bytes')).keys()].sort(), [
      fsKey('/', '/dev/sda1'),
      fsKey('/srv', '/dev/sdb1'),
    ]);
  });

  test('a hung statfs marks its mount stuck: device_error 1, never called again until it returns', async () => {
    const procfs = fakeProcfs([
      { mountpoint: '/srv/local', dev: '8:1', device: '/dev/sda1' },
      { mountpoint: '/mnt/nas', dev: '0:61', fstype: 'nfs4', device: 'nas:/export' },
    ]);
    const calls = new Map<string, number>();
    let release: (s: FsStats) => void = () => {};
    const c = collector(
      config((cfg) => {
        cfg.paths.procfs = procfs;
        cfg.collectors.disk.timeout = 400;
      }),
      {
        statfs: (path) => {
          calls.set(path, (calls.get(path) ?? 0) + 1);
          if (path === '/mnt/nas' && calls.get(path) === 1)
            return new Promise((resolve) => (release = resolve));
          return Promise.resolve(stats(1000, 300, 200));
        },
      },
    );
    const local = fsKey('/srv/local', '/dev/sda1');
    const nas = fsKey('/mnt/nas', 'nas:/export', 'nfs4');

    // First run: waits for the statfs deadline (80% of the timeout), and finishes in time.
    let started = Date.now();
    await run(c);
    const firstRun = Date.now() - started;
    assert.ok(firstRun >= 300 && firstRun < 400, `first run took ${firstRun}ms`);
    let errors = await values(c, 'watchpost_filesystem_device_error');
    assert.equal(errors.get(nas), 1);
    assert.equal(errors.get(local), 0);
    assert.equal((await values(c, 'watchpost_filesystem_size_bytes')).get(nas), undefined);
    assert.equal((await values(c, 'watchpost_filesystem_size_bytes')).get(local), 1000);
    assert.equal((await values(c, 'watchpost_filesystem_used_ratio')).get(local), 700 / 900);
    // What does not come from statfs is still known.
    assert.equal((await values(c, 'watchpost_filesystem_readonly')).get(nas), 0);
    assert.equal((await values(c, 'watchpost_filesystem_alert_threshold_ratio')).get(nas), 0.85);

    // Second run: the stuck mount is skipped at once, not statfs'd again.
    started = Date.now();
    await run(c);
    assert.ok(Date.now() - started < 200, 'a stuck mount does not delay the run');
    assert.equal(calls.get('/mnt/nas'), 1);
    assert.equal(calls.get('/srv/local'), 2);
    errors = await values(c, 'watchpost_filesystem_device_error');
    assert.deepEqual([errors.get(nas), errors.get(local)], [1, 0]);

    // The hung call returns: the next run statfs's the mount again.
    release(stats(5000, 4000, 3000));
    await new Promise((resolve) => setImmediate(resolve));
    await run(c);
    assert.equal(calls.get('/mnt/nas'), 2);
    errors = await values(c, 'watchpost_filesystem_device_error');
    assert.deepEqual([errors.get(nas), errors.get(local)], [0, 0]);
    // The late answer of the hung call is never written: this run's call answered.
    assert.equal((await values(c, 'watchpost_filesystem_size_bytes')).get(nas), 1000);
  });

  test('a failing statfs gives device_error 1 for that mount only, and is retried next run', async () => {
    const procfs = fakeProcfs([
      { mountpoint: '/a', dev: '8:1', device: '/dev/sda1' },
      { mountpoint: '/b', dev: '8:17', device: '/dev/sdb1' },
    ]);
    let fail = true;
    const c = collector(
      config((cfg) => (cfg.paths.procfs = procfs)),
      {
        statfs: async (path) => {
          if (path === '/b' && fail)
            throw Object.assign(new Error('EIO: i/o error, statfs'), { code: 'EIO' });
          return stats(1000, 500, 500);
        },
      },
    );
    await run(c);
    let errors = await values(c, 'watchpost_filesystem_device_error');
    assert.deepEqual([errors.get(fsKey('/a', '/dev/sda1')), errors.get(fsKey('/b', '/dev/sdb1'))], [0, 1]);
    assert.deepEqual(
      [...(await values(c, 'watchpost_filesystem_avail_bytes')).keys()],
      [fsKey('/a', '/dev/sda1')],
    );
    fail = false;
    await run(c);
    errors = await values(c, 'watchpost_filesystem_device_error');
    assert.deepEqual([errors.get(fsKey('/a', '/dev/sda1')), errors.get(fsKey('/b', '/dev/sdb1'))], [0, 0]);
  });

  test('a mount that goes away disappears from the next run', async () => {
    const mounts = [
      { mountpoint: '/a', dev: '8:1', device: '/dev/sda1' },
      { mountpoint: '/usb', dev: '8:33', device: '/dev/sdc1', fstype: 'vfat' },
    ];
    const procfs = fakeProcfs(mounts);
    const c = collector(
      config((cfg) => (cfg.paths.procfs = procfs)),
      { statfs: async () => stats(10, 5, 5) },
    );
    await run(c);
    assert.equal((await values(c, 'watchpost_filesystem_size_bytes')).size, 2);
    writeMounts(procfs, mounts.slice(0, 1));
    await run(c);
    for (const name of [
      'watchpost_filesystem_size_bytes',
      'watchpost_filesystem_device_error',
      'watchpost_filesystem_readonly',
    ]) {
      assert.deepEqual([...(await values(c, name)).keys()], [fsKey('/a', '/dev/sda1')], name);
    }
  });

  test('the alert threshold comes from config per mount point, else the default', async () => {
    const procfs = fakeProcfs([
      { mountpoint: '/', dev: '8:1', device: '/dev/sda1' },
      { mountpoint: '/srv/recordings', dev: '8:17', device: '/dev/sdb1' },
    ]);
    const c = collector(
      config((cfg) => {
        cfg.paths.procfs = procfs;
        cfg.collectors.disk.alert_threshold_ratio = 0.8;
        cfg.collectors.disk.thresholds = { '/srv/recordings/': 0.95, '/not/mounted': 0.5 };
      }),
      { statfs: async () => stats(10, 5, 5) },
    );
    await run(c);
    const t = await values(c, 'watchpost_filesystem_alert_threshold_ratio');
    assert.deepEqual(Object.fromEntries(t), {
      [fsKey('/', '/dev/sda1')]: 0.8,
      [fsKey('/srv/recordings', '/dev/sdb1')]: 0.95,
    });
  });

  test('fails the run, naming the file, only when the mount table cannot be read', async () => {
    const procfs = join(tempDir(), 'nope');
    const c = collector(config((cfg) => (cfg.paths.procfs = procfs)));
    await assert.rejects(c.collect(new AbortController().signal), (err: Error) =>
      err.message.includes(`${procfs}/self/mountinfo`),
    );
  });

  test('an aborted run rejects without writing metrics', async () => {
    const procfs = fakeProcfs([{ mountpoint: '/a', dev: '8:1' }]);
    const c = collector(
      config((cfg) => (cfg.paths.procfs = procfs)),
      { statfs: () => new Promise(() => {}) },
    );
    const ac = new AbortController();
    const p = c.collect(ac.signal);
    ac.abort(new Error('timed out'));
    await assert.rejects(p, /timed out/);
    assert.equal((await values(c, 'watchpost_filesystem_device_error')).size, 0);
  });

  test('folder sizes are scanned in the background and reported once a scan has finished', async () => {
    const rootfs = tempDir();
    const recordings = join(rootfs, 'srv/recordings');
    mkdirSync(join(recordings, 'cam1'), { recursive: true });
    writeFileSync(join(recordings, 'cam1/a.mp4'), Buffer.alloc(4096));
    writeFileSync(join(recordings, 'b.mp4'), Buffer.alloc(100));
    const procfs = fakeProcfs([{ mountpoint: '/', dev: '8:1', device: '/dev/sda1' }], '1');
    const c = collector(
      config((cfg) => {
        cfg.paths.procfs = procfs;
        cfg.paths.rootfs = rootfs;
        cfg.collectors.disk.directories = [
          { path: '/srv/recordings', interval: 50 },
          { path: '/srv/missing', interval: 60_000 },
        ];
      }),
      { statfs: async () => stats(10, 5, 5) },
    );
    const rec = key({ path: '/srv/recordings' });
    const missing = key({ path: '/srv/missing' });

    // Before the first scan has finished, nothing is reported for the folders.
    await run(c);
    assert.equal((await values(c, 'watchpost_directory_size_bytes')).size, 0);
    assert.equal((await values(c, 'watchpost_directory_scan_success')).size, 0);

    const until = async (check: () => Promise<boolean>) => {
      for (const end = Date.now() + 5000; Date.now() < end;) {
        await run(c);
        if (await check()) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.fail('the folder scan did not finish in 5 s');
    };
    await until(async () => (await values(c, 'watchpost_directory_scan_success')).size === 2);
    assert.equal((await values(c, 'watchpost_directory_size_bytes')).get(rec), 4196);
    assert.equal((await values(c, 'watchpost_directory_files')).get(rec), 2);
    assert.equal((await values(c, 'watchpost_directory_scan_success')).get(rec), 1);
    assert.equal((await values(c, 'watchpost_directory_scan_errors')).get(rec), 0);
    const ts = (await values(c, 'watchpost_directory_last_scan_timestamp_seconds')).get(rec)!;
    assert.ok(Math.abs(ts - Date.now() / 1000) < 5);
    assert.ok((await values(c, 'watchpost_directory_scan_duration_seconds')).get(rec)! >= 0);
    // An unreadable folder: scan_success 0 and no sizes, rather than a 0 that looks real.
    assert.equal((await values(c, 'watchpost_directory_scan_success')).get(missing), 0);
    assert.equal((await values(c, 'watchpost_directory_size_bytes')).has(missing), false);
    assert.equal((await values(c, 'watchpost_directory_files')).has(missing), false);

    // The next scan (50 ms interval) picks up a new file.
    writeFileSync(join(recordings, 'cam1/c.mp4'), Buffer.alloc(1000));
    await until(async () => (await values(c, 'watchpost_directory_size_bytes')).get(rec) === 5196);
    assert.equal((await values(c, 'watchpost_directory_files')).get(rec), 3);
    c.close();
  });

  test('the output passes promtool check metrics', async (t) => {
    const promtool = requireBinary(t, 'promtool');
    if (!promtool) return;
    const root = tempDir();
    writeFileSync(join(root, 'f'), Buffer.alloc(10));
    const procfs = fakeProcfs([
      { mountpoint: '/', dev: '8:1', device: '/dev/sda1' },
      { mountpoint: '/mnt/nas', dev: '0:61', fstype: 'nfs4', device: 'nas:/export' },
      { mountpoint: '/mnt/camera archive', dev: '8:17', device: '/dev/sdb1', ro: true },
    ]);
    const c = collector(
      config((cfg) => {
        cfg.paths.procfs = procfs;
        cfg.collectors.disk.directories = [{ path: root, interval: 60_000 }];
      }),
      {
        statfs: async (path) =>
          path === '/mnt/nas' ? Promise.reject(new Error('ESTALE')) : stats(1000, 300, 200),
      },
    );
    for (let i = 0; i < 500 && (await values(c, 'watchpost_directory_files')).size === 0; i++) {
      await run(c);
      await new Promise((r) => setTimeout(r, 10));
    }
    const text = renderFamilies(c.families, served.get(c) ?? new Snapshot());
    assert.match(text, /watchpost_directory_size_bytes\{path=".*"\} 10/);
    assert.match(
      text,
      /watchpost_filesystem_device_error\{device="nas:\/export",mountpoint="\/mnt\/nas",fstype="nfs4"\} 1/,
    );
    const res = promtoolCheckMetrics(promtool, text);
    assert.equal(res.output, '', 'promtool has no complaint');
    assert.equal(res.status, 0);
  });
});
