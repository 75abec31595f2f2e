import type { ComposeProject, ComposeService, Pos } from '../compose.js';

/**
 * What a detector contributes to watchpost.yml: an entry of one list of the config
 * (`item`), or only a comment (`item` undefined: something left out, or a suggestion
 * written out commented for the user to complete). `comment` lines explain where it came
 * from; the renderer prefixes them with the service and its file:line.
 */
export type Section =
  | 'containers.expected'
  | 'streams.servers'
  | 'streams.expected'
  | 'ffmpeg.groups'
  | 'dependencies.targets'
  | 'backups.checks';

export interface Contribution {
  section: Section;
  service: string;
  pos: Pos;
  comment: string[];
  item?: Record<string, string | number>;
  /** A suggestion written commented out (the user must fill something in first). */
  commented?: Record<string, string | number>;
}

export interface DetectContext {
  project: ComposeProject;
  /** Contributions made by the detectors that ran before (stream servers before FFmpeg). */
  so_far: Contribution[];
}

export type Detector = (svc: ComposeService, ctx: DetectContext) => Contribution[];

/** The image's repository name without registry, owner, tag or digest: "bluenviron/mediamtx:1" → "mediamtx". */
export function imageBase(svc: ComposeService): string {
  const image = svc.image?.value ?? '';
  const noDigest = image.split('@')[0]!;
  const lastSlash = noDigest.lastIndexOf('/');
  const repo = noDigest.slice(lastSlash + 1);
  return repo.split(':')[0]!.toLowerCase();
}

/** The full image reference without tag, lower case: "docker.io/bitnami/redis". */
export function imageRepo(svc: ComposeService): string {
  const image = (svc.image?.value ?? '').split('@')[0]!;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  return (colon === -1 ? image : image.slice(0, colon)).toLowerCase();
}

/** The command line (entrypoint and command) as one string, for matching. */
export function commandLine(svc: ComposeService): string {
  return [...(svc.entrypoint?.value ?? []), ...(svc.command?.value ?? [])].join(' ');
}

/** Ports the service listens on inside its container: `ports:` targets, then `expose:`. */
export function containerPorts(svc: ComposeService): number[] {
  const out: number[] = [];
  for (const p of svc.ports) if (p.protocol === 'tcp' && !out.includes(p.target)) out.push(p.target);
  for (const e of svc.expose) if (!out.includes(e.value)) out.push(e.value);
  return out;
}

/** Whether the service is left out of what must run (profiles, one-shot, restart "no"). */
export function notLongRunning(svc: ComposeService, project: ComposeProject): string | undefined {
  if (svc.profiles.length > 0)
    return `left out: only started with the profile${svc.profiles.length > 1 ? 's' : ''} ${svc.profiles.map((p) => p.value).join(', ')}`;
  const waiter = project.services.find((o) =>
    o.dependsOn.some((d) => d.service === svc.name && d.condition === 'service_completed_successfully'),
  );
  if (waiter) return `left out: a one-shot job (${waiter.name} waits for it to complete)`;
  const restart = svc.restart?.value ?? svc.deployRestart?.value;
  if (restart === 'no' || restart === 'none')
    return `left out: restart "${restart}" (it is not kept running)`;
  if (restart === 'on-failure' && isOneShotCommand(svc))
    return 'left out: a one-shot job (restart on-failure and a one-off command)';
  if (svc.replicas?.value === 0) return 'left out: scaled to 0 replicas';
  return undefined;
}

const ONE_SHOT = /\b(migrate|migrations?|collectstatic|createsuperuser|init-?db|db-?init|setup|seed)\b/i;

function isOneShotCommand(svc: ComposeService): boolean {
  return ONE_SHOT.test(commandLine(svc));
}
