import { readdir, stat, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * What the backup freshness checks read: the files matching a path whose last segment
 * may hold `*` and `?` wildcards, and status ("marker") files that sync jobs write.
 * Nothing here writes metrics; parsing is a pure function.
 */

export interface BackupFile {
  path: string;
  /** Modification time, Unix seconds. */
  mtime: number;
  sizeBytes: number;
}

export interface BackupScan {
  /** Regular files matching the pattern, whatever their size. */
  files: number;
  /** The most recently modified matching file of at least `minSize` bytes. */
  newest?: BackupFile;
}

/** `*` matches any run of characters, `?` one character; neither matches a leading dot or "/". */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (const ch of glob) {
    if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else out += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${glob.startsWith('.') ? '' : '(?!\\.)'}${out}$`);
}

export function hasWildcard(path: string): boolean {
  return /[*?]/.test(path);
}

/**
 * The files of a backup check. `pattern` is an absolute path whose last segment may hold
 * wildcards; without wildcards it names one file, or a folder whose regular files all
 * count. Throws when the folder cannot be read. Symbolic links to files are followed.
 */
export async function scanBackups(pattern: string, minSize: number): Promise<BackupScan> {
  let folder: string;
  let match: (name: string) => boolean;
  if (hasWildcard(basename(pattern))) {
    folder = dirname(pattern);
    const re = globToRegExp(basename(pattern));
    match = (name) => re.test(name);
  } else {
    const st = await stat(pattern).catch((err: NodeJS.ErrnoException) => {
      // A missing file in a readable folder is "no backup yet", not an error.
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st?.isDirectory()) {
      folder = pattern;
      match = () => true;
    } else {
      folder = dirname(pattern);
      const name = basename(pattern);
      match = (n) => n === name;
    }
  }
  const entries = await readdir(folder, { withFileTypes: true });
  const scan: BackupScan = { files: 0 };
  for (const entry of entries) {
    if (!match(entry.name) || !(entry.isFile() || entry.isSymbolicLink())) continue;
    const path = join(folder, entry.name);
    const st = await stat(path).catch(() => undefined); // deleted meanwhile, or a dangling link
    if (!st?.isFile()) continue;
    scan.files++;
    const file = { path, mtime: st.mtimeMs / 1000, sizeBytes: st.size };
    if (file.sizeBytes >= minSize && (!scan.newest || file.mtime > scan.newest.mtime)) scan.newest = file;
  }
  return scan;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** Unix seconds after 5138-11-16 are taken for milliseconds written by mistake. */
const MAX_SECONDS = 1e11;

/**
 * The time a marker file states: Unix seconds (`date +%s`, fractions allowed) or an
 * RFC 3339 time (`date -u +%Y-%m-%dT%H:%M:%SZ`). Throws on anything else: a marker that
 * does not parse must not pass for a fresh one.
 */
export function parseMarkerTime(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) {
    const seconds = Number(t);
    if (seconds >= MAX_SECONDS)
      throw new Error(`marker holds ${t}, which looks like milliseconds; write Unix seconds (date +%s)`);
    return seconds;
  }
  if (RFC3339.test(t)) {
    const ms = Date.parse(t.replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms / 1000;
  }
  const shown = t.length > 40 ? `${t.slice(0, 40)}…` : t;
  throw new Error(
    `marker content ${JSON.stringify(shown)} is neither Unix seconds nor an RFC 3339 time such as 2024-05-01T03:00:00Z`,
  );
}

/** Only the start of a marker is read: a timestamp is short. */
const MARKER_MAX_BYTES = 256;

/** A marker's time, in Unix seconds, from its content or its modification time. */
export async function readMarker(path: string, from: 'content' | 'mtime'): Promise<number> {
  if (from === 'mtime') return (await stat(path)).mtimeMs / 1000;
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(MARKER_MAX_BYTES);
    const { bytesRead } = await handle.read(buf, 0, MARKER_MAX_BYTES, 0);
    return parseMarkerTime(buf.subarray(0, bytesRead).toString('utf8'));
  } finally {
    await handle.close();
  }
}
