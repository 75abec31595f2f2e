import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/**
 * The file_sd target files of a central Prometheus (docs/scaling.md, "several hosts pulled"):
 * a JSON list of `{ targets: ["host:port"], labels: { site, host } }`, one entry per exporter,
 * which Prometheus re-reads when it changes (file_sd_configs). `watchpost targets add|remove|list`
 * edits it; every write goes to a temporary file renamed into place, so Prometheus never reads
 * half a file.
 */
export interface TargetEntry {
  targets: string[];
  labels: Record<string, string>;
}

export interface Target {
  address: string;
  site: string;
  host: string;
}

export const DEFAULT_TARGETS_FILE = join('watchpost', 'targets', 'exporters.json');

const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$/;
/** Label values that read well in a message and need no quoting anywhere. */
const LABEL_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export class TargetsError extends Error {
  override name = 'TargetsError';
}

export function checkAddress(address: string): void {
  const m = ADDRESS.exec(address);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new TargetsError(`"${address}" is not an address host:port, such as 10.0.0.5:9850`);
}

export function checkLabel(key: 'site' | 'host', value: string): void {
  if (!LABEL_VALUE.test(value))
    throw new TargetsError(
      `--${key} "${value}": expected letters, digits, "_", "." or "-" (at most 63, starting with a letter or digit)`,
    );
}

/** The targets in `file`; none when it does not exist yet. A malformed file is an error naming it. */
export function readTargets(file: string): Target[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new TargetsError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TargetsError(`${file} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new TargetsError(`${file}: expected a JSON list of target groups`);
  const out: Target[] = [];
  parsed.forEach((g: unknown, i) => {
    const group = g as Partial<TargetEntry>;
    if (!group || !Array.isArray(group.targets) || group.targets.some((t) => typeof t !== 'string'))
      throw new TargetsError(`${file}: entry ${i + 1}: expected "targets" as a list of "host:port"`);
    const labels = group.labels ?? {};
    for (const address of group.targets)
      out.push({ address, site: String(labels.site ?? ''), host: String(labels.host ?? '') });
  });
  return out;
}

export function writeTargets(file: string, targets: Target[]): void {
  const entries: TargetEntry[] = [...targets]
    .sort(
      (a, b) =>
        a.site.localeCompare(b.site) || a.host.localeCompare(b.host) || a.address.localeCompare(b.address),
    )
    .map((t) => ({ targets: [t.address], labels: { site: t.site, host: t.host } }));
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, file);
}

/** Adds a target, or changes the labels of one already listed; says which. */
export function addTarget(file: string, target: Target): 'added' | 'updated' | 'unchanged' {
  checkAddress(target.address);
  checkLabel('site', target.site);
  checkLabel('host', target.host);
  const targets = readTargets(file);
  const i = targets.findIndex((t) => t.address === target.address);
  if (i >= 0 && targets[i]!.site === target.site && targets[i]!.host === target.host) return 'unchanged';
  const clash = targets.find(
    (t) => t.address !== target.address && t.site === target.site && t.host === target.host,
  );
  if (clash)
    throw new TargetsError(
      `site "${target.site}" already has a host "${target.host}" (${clash.address}): two exporters with the same labels would be one host on the dashboards`,
    );
  if (i >= 0) targets[i] = target;
  else targets.push(target);
  writeTargets(file, targets);
  return i >= 0 ? 'updated' : 'added';
}

/** Removes a target by address; false when it was not listed. */
export function removeTarget(file: string, address: string): boolean {
  const targets = readTargets(file);
  const kept = targets.filter((t) => t.address !== address);
  if (kept.length === targets.length) return false;
  writeTargets(file, kept);
  return true;
}

export function formatTargets(targets: Target[]): string {
  if (targets.length === 0) return 'no targets\n';
  const rows = [['SITE', 'HOST', 'ADDRESS'], ...targets.map((t) => [t.site, t.host, t.address])];
  const widths = [0, 1].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  return (
    rows.map((r) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]}`).join('\n') + '\n'
  );
}
