import assert from 'node:assert/strict';
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statfsSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { opendir, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  hostView,
  parseMountinfo,
  readMountTable,
  scanDirectory,
  statFilesystem,
  underRootfs,
  unescapeMountField,
  type Mount,
} from './mounts.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const byMountpoint = (mounts: Mount[], mountpoint: string) => {
  const found = mounts.filter((m) => m.mountpoint === mountpoint);
  assert.equal(found.length, 1, `expected one mount at ${mountpoint}, found ${found.length}`);
  return found[0]!;
};

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-mounts-'));
  temps.push(dir);
  return dir;
}
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('parseMountinfo', () => {
  test('parses every line of this machine’s mount table', () => {
    const text = fixture('mountinfo-host.txt');
    const mounts = parseMountinfo(text);
    assert.equal(mounts.length, text.split('\n').filter((l) => l.trim() !== '').length);
    assert.deepEqual(byMountpoint(mounts, '/'), {
      majorMinor: '254:0',
      root: '/',
      mountpoint: '/',
      options: ['rw', 'relatime'],
      fstype: 'ext4',
      device: '/dev/vda',
      superOptions: ['rw', 'discard', 'resv_strict', 'resuid=65534', 'resgid=65534'],
      readonly: false,
    });
    const ro = mounts.filter((m) => m.readonly).map((m) => m.mountpoint);
    assert.deepEqual(ro, ['/opt/vendor/python']);
    assert.equal(byMountpoint(mounts, '/sys/fs/cgroup/unified').fstype, 'cgroup2');
  });

  test('parses a Docker container’s view: optional fields, bind mounts, escapes, read-only', () => {
    const mounts = parseMountinfo(fixture('mountinfo-container.txt'));
    assert.equal(mounts.length, 26);

    const root = byMountpoint(mounts, '/');
    assert.equal(root.fstype, 'overlay');
    assert.equal(root.device, 'overlay');
    assert.ok(root.superOptions.includes('nouserxattr'));

    const hosts = byMountpoint(mounts, '/etc/hosts');
    assert.equal(hosts.majorMinor, '259:2');
    assert.equal(hosts.device, '/dev/nvme0n1p2');
    assert.match(hosts.root, /^\/var\/lib\/docker\/containers\/[0-9a-f]{64}\/hosts$/);

    const data = byMountpoint(mounts, '/data');
    assert.equal(data.majorMinor, '259:2');
    assert.equal(data.root, '/var/lib/docker/volumes/app_data/_data');
    assert.equal(data.readonly, false);

    // \040 is a space in the kernel's escaping.
    const archive = byMountpoint(mounts, '/mnt/camera archive');
    assert.deepEqual([archive.fstype, archive.device, archive.majorMinor], ['xfs', '/dev/sdb1', '8:17']);

    // Read-only through the mount options while the superblock is read-write.
    const backups = byMountpoint(mounts, '/mnt/backups');
    assert.deepEqual([backups.readonly, backups.options[0], backups.superOptions[0]], [true, 'ro', 'rw']);

    // Read-only through the superblock options.
    assert.equal(byMountpoint(mounts, '/sys').readonly, true);
    assert.equal(byMountpoint(mounts, '/mnt/nas').device, 'nas.lan:/export/recordings');
    assert.equal(byMountpoint(mounts, '/proc/kcore').root, '/null');
  });

  test('decodes every octal escape the kernel writes', () => {
    assert.equal(unescapeMountField('/a\\040b\\011c\\012d\\134e'), '/a b\tc\nd\\e');
    const [m] = parseMountinfo('40 1 8:1 /x\\040y /mnt/x\\134y rw - ext4 /dev/my\\040disk rw\n');
    assert.deepEqual([m!.root, m!.mountpoint, m!.device], ['/x y', '/mnt/x\\y', '/dev/my disk']);
  });

  test('takes several optional fields and an empty superblock option list', () => {
    const [m] = parseMountinfo('40 1 8:1 / /srv rw shared:1 master:2 propagate_from:3 - ext4 /dev/sda1 \n');
    assert.deepEqual([m!.fstype, m!.device, m!.superOptions], ['ext4', '/dev/sda1', []]);
  });

  test('names the line that is not mountinfo', () => {
    assert.throws(
      () => parseMountinfo('40 1 8:1 / / rw - ext4 /dev/sda1 rw\nnot a mount line\n'),
      /mountinfo line 2 /,
    );
    assert.throws(() => parseMountinfo('40 1 8:1 / / rw ext4 /dev/sda1 rw x y\n'), /mountinfo line 1 /);
  });
});

describe('readMountTable', () => {
  const line = (mountpoint: string, dev = '8:1') => `40 1 ${dev} / ${mountpoint} rw - ext4 /dev/sda1 rw\n`;

  test('reads our own table when rootfs is /', () => {
    const procfs = tempDir();
    mkdirSync(join(procfs, 'self'));
    mkdirSync(join(procfs, '1'));
    writeFileSync(join(procfs, 'self/mountinfo'), line('/self'));
    writeFileSync(join(procfs, '1/mountinfo'), line('/pid1'));
    const table = readMountTable(procfs, '/');
    assert.equal(table.file, join(procfs, 'self/mountinfo'));
    assert.deepEqual(
      table.mounts.map((m) => m.mountpoint),
      ['/self'],
    );
  });

  test("reads pid 1's table (the host's) when rootfs is not /, and falls back to ours", () => {
    const procfs = tempDir();
    mkdirSync(join(procfs, 'self'));
    writeFileSync(join(procfs, 'self/mountinfo'), line('/self'));
    assert.deepEqual(
      readMountTable(procfs, '/host').mounts.map((m) => m.mountpoint),
      ['/self'],
    );
    mkdirSync(join(procfs, '1'));
    writeFileSync(join(procfs, '1/mountinfo'), line('/pid1'));
    assert.deepEqual(
      readMountTable(procfs, '/host').mounts.map((m) => m.mountpoint),
      ['/pid1'],
    );
  });

  test('names the files it could not read', () => {
    const procfs = join(tempDir(), 'missing');
    assert.throws(
      () => readMountTable(procfs, '/'),
      (err: Error) => err.message.includes(`${procfs}/self/mountinfo: ENOENT`),
    );
    assert.throws(
      () => readMountTable(procfs, '/host'),
      (err: Error) =>
        err.message.includes(`${procfs}/1/mountinfo: ENOENT`) &&
        err.message.includes(`${procfs}/self/mountinfo: ENOENT`),
    );
  });

  test('names the file it could not parse', () => {
    const procfs = tempDir();
    mkdirSync(join(procfs, 'self'));
    writeFileSync(join(procfs, 'self/mountinfo'), 'garbage\n');
    assert.throws(
      () => readMountTable(procfs, '/'),
      new RegExp(`${procfs}/self/mountinfo: mountinfo line 1 `),
    );
  });

  test('reads this machine’s real table', () => {
    const table = readMountTable('/proc', '/');
    assert.ok(table.mounts.some((m) => m.mountpoint === '/'));
  });
});

describe('hostView and underRootfs', () => {
  const mount = (mountpoint: string): Mount => ({
    majorMinor: '8:1', root: '/', mountpoint, options: ['rw'], fstype: 'ext4', device: '/dev/sda1', superOptions: [], readonly: false,
  }); // prettier-ignore

  test("a container's own table shows the host's mounts under rootfs: strip the prefix", () => {
    const mounts = ['/', '/etc/hosts', '/host', '/host/srv/data', '/hostile'].map(mount);
    assert.deepEqual(
      hostView(mounts, '/host/').map((m) => m.mountpoint),
      ['/', '/srv/data'],
    );
  });

  test("the host's table is left alone", () => {
    const mounts = ['/', '/srv/data'].map(mount);
    assert.equal(hostView(mounts, '/host'), mounts);
    assert.equal(hostView(mounts, '/'), mounts);
  });

  test('host paths map under rootfs', () => {
    assert.equal(underRootfs('/', '/srv'), '/srv');
    assert.equal(underRootfs('/host', '/'), '/host');
    assert.equal(underRootfs('/host/', '/srv/a b'), '/host/srv/a b');
  });
});

describe('statFilesystem', () => {
  test('gives the numbers statfs gives, in bytes', async () => {
    const s = await statFilesystem('/');
    const ref = statfsSync('/');
    assert.equal(s.sizeBytes, ref.blocks * ref.bsize);
    assert.equal(s.files, ref.files);
    assert.ok(s.sizeBytes > 0);
    assert.ok(s.availBytes <= s.freeBytes && s.freeBytes <= s.sizeBytes);
    // Free space moves while other processes write: close, not equal.
    assert.ok(Math.abs(s.freeBytes - ref.bfree * ref.bsize) < 256 * 2 ** 20);
  });

  test('rejects for a path that does not exist', async () => {
    await assert.rejects(statFilesystem('/no/such/mount/point'), { code: 'ENOENT' });
  });
});

describe('scanDirectory', () => {
  function tree(): string {
    const root = tempDir();
    mkdirSync(join(root, 'sub/deeper'), { recursive: true });
    mkdirSync(join(root, 'empty'));
    writeFileSync(join(root, 'a.mp4'), Buffer.alloc(1000));
    writeFileSync(join(root, 'sub/b.mp4'), Buffer.alloc(2345));
    writeFileSync(join(root, 'sub/deeper/c.txt'), Buffer.alloc(10));
    linkSync(join(root, 'sub/b.mp4'), join(root, 'sub/b-hardlink.mp4')); // one file, two names
    // Symlinks to a big file and a folder elsewhere: neither may be followed.
    const outside = tempDir();
    writeFileSync(join(outside, 'big.bin'), Buffer.alloc(100_000));
    symlinkSync(join(outside, 'big.bin'), join(root, 'link-to-file'));
    symlinkSync(outside, join(root, 'sub/link-to-dir'));
    symlinkSync(root, join(root, 'sub/deeper/loop')); // would never end if followed
    return root;
  }

  test('sums regular files once each, without following symlinks', async () => {
    const scan = await scanDirectory(tree());
    assert.deepEqual(
      { success: scan.success, bytes: scan.bytes, files: scan.files, errors: scan.errors },
      { success: true, bytes: 1000 + 2345 + 10, files: 3, errors: 0 },
    );
    assert.ok(Math.abs(scan.finishedAt - Date.now() / 1000) < 5);
    assert.ok(scan.durationSeconds >= 0 && scan.durationSeconds < 5);
  });

  // Running as root, chmod 000 does not stop reads; a subfolder removed between being
  // listed and being opened fails opendir the same way an unreadable one does.
  test('a subfolder that cannot be read is counted as an error, the rest is still summed', async () => {
    const root = tree();
    mkdirSync(join(root, 'gone'));
    writeFileSync(join(root, 'gone/x.bin'), Buffer.alloc(500));
    const scan = await scanDirectory(root, {
      fs: {
        opendir: async (p) => {
          if (p === join(root, 'gone')) rmSync(p, { recursive: true });
          return opendir(p);
        },
        lstat: (p) => lstat(p),
      },
    });
    assert.deepEqual([scan.success, scan.bytes, scan.files, scan.errors], [true, 3355, 3, 1]);
  });

  test('an entry removed between listing and lstat is counted as an error', async () => {
    const root = tree();
    const scan = await scanDirectory(root, {
      fs: {
        opendir: (p) => opendir(p),
        lstat: async (p) => {
          if (p === join(root, 'a.mp4')) rmSync(p);
          return lstat(p);
        },
      },
    });
    assert.deepEqual([scan.success, scan.bytes, scan.files, scan.errors], [true, 2355, 2, 1]);
  });

  test('fails only when the folder itself cannot be read', async () => {
    const scan = await scanDirectory(join(tempDir(), 'missing'));
    assert.equal(scan.success, false);
    assert.match(scan.error ?? '', /ENOENT/);
    const file = join(tempDir(), 'file');
    writeFileSync(file, 'x');
    assert.equal((await scanDirectory(file)).success, false);
  });

  test('walks a deep tree without recursion', async () => {
    const root = tempDir();
    const deep = join(root, ...Array.from({ length: 400 }, () => 'd'));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'f'), Buffer.alloc(7));
    const scan = await scanDirectory(root);
    assert.deepEqual([scan.success, scan.bytes, scan.files], [true, 7, 1]);
  });

  test('stops when aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(scanDirectory(tree(), { signal: ac.signal }), /stop/);
  });
});
