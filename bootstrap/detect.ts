import { relative } from 'node:path';
import type { ComposeProject } from './compose.js';
import { detectBackup } from './detectors/backups.js';
import { detectContainer } from './detectors/containers.js';
import { detectDatabase } from './detectors/databases.js';
import { detectFfmpeg } from './detectors/ffmpeg.js';
import { detectHttp } from './detectors/http.js';
import { detectMediamtx } from './detectors/mediamtx.js';
import { detectMinio } from './detectors/minio.js';
import { detectNginxRtmp } from './detectors/nginx-rtmp.js';
import type { Contribution, DetectContext, Detector, Section } from './detectors/types.js';

export type { Contribution, Section } from './detectors/types.js';

/**
 * Recognises what each service of a compose project is and derives what watchpost should
 * watch. Stream servers are detected first (FFmpeg services refer to them); a service gets
 * at most one dependency probe, from the most specific detector that knows it.
 */
export function detect(project: ComposeProject): Contribution[] {
  const ctx: DetectContext = { project, so_far: [] };
  const run = (d: Detector) => {
    for (const svc of project.services) ctx.so_far.push(...d(svc, ctx));
  };
  run(detectContainer);
  run(detectMediamtx);
  run(detectNginxRtmp);
  run(detectFfmpeg);
  run(detectDatabase);
  run(detectMinio);
  run(detectBackup);
  // HTTP last, for the services nothing more specific recognised.
  const known = new Set(ctx.so_far.filter((c) => c.section !== 'containers.expected').map((c) => c.service));
  for (const svc of project.services) if (!known.has(svc.name)) ctx.so_far.push(...detectHttp(svc, ctx));
  return ctx.so_far;
}

export interface RenderOptions {
  /**
   * YAML put before `collectors:` as is (the exporter and notifier sections an installer
   * writes, which refer to secret files); it must itself be valid watchpost.yml.
   */
  sections?: string;
}

const LAYOUT: { collector: string; lists: { key: string; section: Section }[] }[] = [
  { collector: 'containers', lists: [{ key: 'expected', section: 'containers.expected' }] },
  {
    collector: 'streams',
    lists: [
      { key: 'servers', section: 'streams.servers' },
      { key: 'expected', section: 'streams.expected' },
    ],
  },
  { collector: 'ffmpeg', lists: [{ key: 'groups', section: 'ffmpeg.groups' }] },
  { collector: 'dependencies', lists: [{ key: 'targets', section: 'dependencies.targets' }] },
  { collector: 'backups', lists: [{ key: 'checks', section: 'backups.checks' }] },
];

/** watchpost.yml text for the project, every entry commented with the service and file:line it came from. */
export function renderWatchpostConfig(project: ComposeProject, options: RenderOptions = {}): string {
  const found = detect(project);
  const files = project.files.map((f) => relative(project.dir, f) || f).join(', ');
  const lines = [
    `# watchpost.yml for the compose project "${project.name}", written by \`watchpost init\` from ${files}.`,
    '# Each entry names the service and the file:line it was derived from; see docs/init.md for what is',
    '# detected and docs/configuration.md for every setting. Edit freely: `watchpost init` does not',
    '# overwrite a file you have edited (unless --force). Check it with `watchpost check --config`.',
  ];
  if (options.sections?.trim()) lines.push(options.sections.trimEnd());
  const body: string[] = [];
  for (const { collector, lists } of LAYOUT) {
    const parts: string[] = [];
    for (const { key, section } of lists) {
      const items = found.filter((c) => c.section === section);
      if (items.length === 0) continue;
      const active = items.filter((c) => c.item);
      if (active.length === 0) {
        for (const c of items) parts.push(...commentLines(c, '    '));
        parts.push(`    ${key}: []`);
        continue;
      }
      parts.push(`    ${key}:`);
      for (const c of items) parts.push(...commentLines(c, '      '));
    }
    if (parts.length > 0) body.push(`  ${collector}:`, ...parts);
  }
  if (body.length > 0) lines.push('collectors:', ...body);
  else
    lines.push(
      '# Nothing in this project was recognised: the defaults watch the host, its disks and containers.',
    );
  return `${lines.join('\n')}\n`;
}

function commentLines(c: Contribution, indent: string): string[] {
  const where = `${c.service} (${c.pos.file}:${c.pos.line})`;
  const out: string[] = [];
  const [first, ...rest] = c.comment;
  out.push(`${indent}# ${where}${first ? `: ${first}` : ''}`);
  for (const l of rest) out.push(`${indent}#   ${l}`);
  if (c.item) out.push(`${indent}- ${flow(c.item)}`);
  if (c.commented) out.push(`${indent}# - ${flow(c.commented)}`);
  return out;
}

function flow(obj: Record<string, string | number>): string {
  return `{ ${Object.entries(obj)
    .map(([k, v]) => `${k}: ${scalar(v)}`)
    .join(', ')} }`;
}

const PLAIN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;

function scalar(v: string | number): string {
  if (typeof v === 'number') return String(v);
  return PLAIN.test(v) && !RESERVED.test(v) ? v : JSON.stringify(v);
}
