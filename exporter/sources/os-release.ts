import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';

/**
 * What the host runs, for watchpost_host_os_info: on Linux from the host's os-release
 * file (man 5 os-release) under `paths.rootfs` and from uname, which a container shares
 * with its host; elsewhere from systeminformation (exporter/sources/systeminformation.ts).
 * Every field is a label value: bounded by MAX_OS_LABEL_LENGTH, never empty.
 */
export interface OsInfo {
  /** ID of os-release ("debian", "ubuntu"), or Node's platform name elsewhere ("darwin", "win32"). */
  id: string;
  /** NAME of os-release ("Debian GNU/Linux"), or the product ("macOS"). */
  name: string;
  /** VERSION_ID of os-release ("12"), or the product's version ("14.2.1"); "" when unknown. */
  versionId: string;
  /** PRETTY_NAME of os-release ("Debian GNU/Linux 12 (bookworm)"), or the product and version ("macOS 14.2.1"). */
  prettyName: string;
  /** uname -r. */
  kernel: string;
  /** uname -m: x86_64, aarch64, armv7l, arm64. */
  arch: string;
}

/** The longest label value watchpost_host_os_info carries; longer values are cut, with "...". */
export const MAX_OS_LABEL_LENGTH = 128;

/** `value` cut to MAX_OS_LABEL_LENGTH characters (code points), ending in "..." when cut. */
export function boundLabel(value: string): string {
  const chars = [...value];
  if (chars.length <= MAX_OS_LABEL_LENGTH) return value;
  return chars.slice(0, MAX_OS_LABEL_LENGTH - 3).join('') + '...';
}

/** The fields bounded for use as label values. */
export function boundOsInfo(info: OsInfo): OsInfo {
  return {
    id: boundLabel(info.id),
    name: boundLabel(info.name),
    versionId: boundLabel(info.versionId),
    prettyName: boundLabel(info.prettyName),
    kernel: boundLabel(info.kernel),
    arch: boundLabel(info.arch),
  };
}

/**
 * Parses an os-release file: `KEY=value` lines, the value optionally in double or single
 * quotes, with the shell's backslash escapes of `\\`, `\"`, `\$` and `` \` `` inside double
 * quotes; `#` lines are comments. Lines that do not fit are skipped, as the format asks.
 */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1).replace(/\\([\\"$`])/g, '$1');
    } else if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) {
      value = value.slice(1, -1);
    }
    out.set(m[1]!, value);
  }
  return out;
}

/** The distribution's name as people say it: PRETTY_NAME, else NAME and VERSION, else "Linux". */
export function distributionName(fields: Map<string, string>): string {
  const pretty = fields.get('PRETTY_NAME');
  if (pretty) return pretty;
  const name = fields.get('NAME') ?? 'Linux';
  const version = fields.get('VERSION') ?? fields.get('VERSION_ID');
  return version ? `${name} ${version}` : name;
}

/**
 * The Linux host's OS info. The distribution is the host's when the host's / is mounted at
 * `rootfs` (/host in the overlay), else this process's own. os-release sits in /etc, or in
 * /usr/lib on systems that keep /etc empty; without either, ID and NAME default to "linux"
 * and "Linux" as the format says.
 */
export async function readLinuxOsInfo(rootfs: string, signal?: AbortSignal): Promise<OsInfo> {
  let fields = new Map<string, string>();
  for (const file of [join(rootfs, 'etc', 'os-release'), join(rootfs, 'usr', 'lib', 'os-release')]) {
    try {
      fields = parseOsRelease(await readFile(file, { encoding: 'utf8', signal }));
      break;
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
    }
  }
  return boundOsInfo({
    id: fields.get('ID') || 'linux',
    name: fields.get('NAME') || 'Linux',
    versionId: fields.get('VERSION_ID') ?? '',
    prettyName: distributionName(fields),
    kernel: os.release(),
    arch: os.machine(),
  });
}
