import { readFileSync, type Dir, type Stats } from 'node:fs';
import { lstat, opendir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/**
 * The mount table and filesystem statistics, read from /proc and statfs(2) only: never
 * a `df` subprocess, which hangs with the mount it reads and cannot be cancelled.
 */

/** One line of /proc/<pid>/mountinfo (see proc(5)). */
export interface Mount {
  /** "major:minor" of the filesystem; every bind mount of one filesystem shares it. */
  majorMinor: string;
  /** The folder of the filesystem that is mounted here ("/" unless a bind mount of a subfolder). */
  root: string;
  mountpoint: string;
  /** Per-mount options, such as "ro" or "nosuid". */
  options: string[];
  fstype: string;
  /** The mount source, such as "/dev/sda1", "overlay" or "nas:/export". */
  device: string;
  /** Per-superblock options. */
  superOptions: string[];
  /** "ro" in the mount options or in the superblock options. */
  readonly: boolean;
}

/** Filesystem statistics in bytes and inodes, as df shows them. */
export interface FsStats {
  sizeBytes: number;
  freeBytes: number;
  /** Free bytes available to unprivileged users (free minus the root reserve). */
  availBytes: number;
  files: number;
  filesFree: number;
}

/** The kernel escapes space, tab, newline and backslash in mountinfo as \ooo. */
export function unescapeMountField(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * Parses the text of /proc/<pid>/mountinfo. Lines have six fields, optional fields,
 * a "-" separator, then fstype, source and superblock options:
 * `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`.
 * Throws naming the line when one does not have that shape.
 */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (fields.length < 10 || sep === -1 || fields.length < sep + 3 || !/^\d+:\d+$/.test(fields[2]!)) {
      throw new Error(
        `mountinfo line ${i + 1} is not "id parent major:minor root mountpoint options ... - fstype source superoptions": ${JSON.stringify(line)}`,
      );
    }
    const options = fields[5]!.split(',');
    const superOptions = (fields[sep + 3] ?? '').split(',').filter((o) => o !== '');
    mounts.push({
      majorMinor: fields[2]!,
      root: unescapeMountField(fields[3]!),
      mountpoint: unescapeMountField(fields[4]!),
      options,
      fstype: unescapeMountField(fields[sep + 1]!),
      device: unescapeMountField(fields[sep + 2]!),
      superOptions,
      readonly: options.includes('ro') || superOptions.includes('ro'),
    });
  }
  return mounts;
}

export interface MountTable {
  /** The file the table was read from, for messages. */
  file: string;
  mounts: Mount[];
}

/**
 * Reads the mount table. With rootfs "/" that is this process's own table. Otherwise the
 * exporter runs in a container with the host's / at `rootfs`: the host's table is pid 1's
 * (with `pid: host`); without access to it, fall back to our own table, which then shows
 * the host's mounts under `rootfs` (see hostView).
 *
 * Read synchronously on purpose: a few KB from procfs take microseconds and never touch
 * a disk, while an async read would queue behind statfs calls that hung on a dead NFS
 * mount in libuv's small threadpool, and then the table could not be read at all.
 */
export function readMountTable(procfs: string, rootfs: string): MountTable {
  const self = `${procfs}/self/mountinfo`;
  const candidates = rootfs === '/' ? [self] : [`${procfs}/1/mountinfo`, self];
  const failures: string[] = [];
  for (const file of candidates) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      failures.push(`${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    try {
      return { file, mounts: parseMountinfo(text) };
    } catch (err) {
      throw new Error(`cannot parse the mount table ${file}: ${(err as Error).message}`);
    }
  }
  throw new Error(`cannot read the mount table (${failures.join('; ')})`);
}

/** Strips trailing slashes, keeping "/" itself. */
function normalize(path: string): string {
  const p = path.replace(/\/+$/, '');
  return p === '' ? '/' : p;
}

/**
 * The mounts as the host names them. A table that has a mount at `rootfs` itself is a
 * container's own view (the host's / bind-mounted at rootfs): keep what lies under
 * rootfs and drop the prefix. Any other table already is the host's.
 */
export function hostView(mounts: Mount[], rootfs: string): Mount[] {
  const prefix = normalize(rootfs);
  if (prefix === '/' || !mounts.some((m) => m.mountpoint === prefix)) return mounts;
  const out: Mount[] = [];
  for (const m of mounts) {
    if (m.mountpoint === prefix) out.push({ ...m, mountpoint: '/' });
    else if (m.mountpoint.startsWith(prefix + '/'))
      out.push({ ...m, mountpoint: m.mountpoint.slice(prefix.length) });
  }
  return out;
}

/** Where a host path is reachable from this process: under rootfs when that is not "/". */
export function underRootfs(rootfs: string, hostPath: string): string {
  const prefix = normalize(rootfs);
  if (prefix === '/') return hostPath;
  return hostPath === '/' ? prefix : prefix + hostPath;
}

/** statfs(2) through libuv's threadpool; it cannot be cancelled, only abandoned. */
export async function statFilesystem(path: string): Promise<FsStats> {
  const s = await statfs(path);
  return {
    sizeBytes: s.blocks * s.bsize,
    freeBytes: s.bfree * s.bsize,
    availBytes: s.bavail * s.bsize,
    files: s.files,
    filesFree: s.ffree,
  };
}

/** The two calls a directory scan makes; replaceable in tests. */
export interface ScanFs {
  opendir(path: string): Promise<Dir>;
  lstat(path: string): Promise<Stats>;
}

export interface DirectoryScan {
  /** False only when the folder itself cannot be read; then bytes and files are 0. */
  success: boolean;
  bytes: number;
  /** Regular files, each hard-linked file once. */
  files: number;
  /** Entries below the folder that could not be read (skipped, the rest still counted). */
  errors: number;
  /** Why the folder itself could not be read. */
  error?: string;
  /** Unix time in seconds at which the scan finished. */
  finishedAt: number;
  durationSeconds: number;
}

/**
 * The total size of the regular files under `root`, as `du -s --apparent-size` counts it:
 * st_size of each file, hard links once, symlinks never followed (lstat), other
 * filesystems included. The walk is an explicit stack, so depth is not limited by the
 * call stack, and one call at a time, so a big folder does not hog libuv's threadpool
 * that statfs and every other file read share. Rejects only when `signal` aborts.
 */
export async function scanDirectory(
  root: string,
  opts: { signal?: AbortSignal; fs?: ScanFs } = {},
): Promise<DirectoryScan> {
  const fs: ScanFs = opts.fs ?? { opendir: (p) => opendir(p), lstat: (p) => lstat(p) };
  const started = performance.now();
  const done = (r: Omit<DirectoryScan, 'finishedAt' | 'durationSeconds'>): DirectoryScan => ({
    ...r,
    finishedAt: Date.now() / 1000,
    durationSeconds: (performance.now() - started) / 1000,
  });
  let bytes = 0;
  let files = 0;
  let errors = 0;
  const linked = new Set<string>(); // dev:ino of files with several names
  const stack = [root];
  while (stack.length > 0) {
    opts.signal?.throwIfAborted();
    const dir = stack.pop()!;
    let handle: Dir;
    try {
      handle = await fs.opendir(dir);
    } catch (err) {
      if (dir === root)
        return done({ success: false, bytes: 0, files: 0, errors: 1, error: (err as Error).message });
      errors++;
      continue;
    }
    try {
      // The iterator closes the handle when the loop ends, breaks or throws.
      for await (const entry of handle) {
        opts.signal?.throwIfAborted();
        const path = join(dir, entry.name);
        let st: Stats;
        try {
          st = await fs.lstat(path);
        } catch {
          errors++; // removed since it was listed, or unreadable
          continue;
        }
        if (st.isDirectory()) {
          stack.push(path);
        } else if (st.isFile()) {
          if (st.nlink > 1) {
            const key = `${st.dev}:${st.ino}`;
            if (linked.has(key)) continue;
            linked.add(key);
          }
          bytes += st.size;
          files++;
        }
      }
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      errors++; // reading the listing failed part way: keep what was counted
    }
  }
  return done({ success: true, bytes, files, errors });
}
