import type { ComposeService } from '../compose.js';
import { commandLine, imageBase, notLongRunning, type Contribution, type Detector } from './types.js';

/**
 * FFmpeg services (an ffmpeg image, or a command that runs ffmpeg) become an FFmpeg
 * process group — matched on the command line by what makes it unique (the URL it writes
 * to, else its last argument) and expecting as many processes as the service has replicas
 * — and every rtmp/rtsp/srt URL it reads or writes on a detected stream server becomes an
 * expected stream. The exporter sees the processes of other containers through the host's
 * /proc, which the overlay mounts.
 */
export const detectFfmpeg: Detector = (svc, { project, so_far }) => {
  const cmd = commandLine(svc);
  const isFfmpeg = imageBase(svc).includes('ffmpeg') || /(^|[\s/;&|"'])ffmpeg(\s|$)/.test(cmd);
  if (!isFfmpeg) return [];
  const out: Contribution[] = [];
  const leftOut = notLongRunning(svc, project);
  const urls = [...cmd.matchAll(/\b(rtmps?|rtsps?|srt):\/\/[^\s'"]+/g)].map((m) => m[0]);
  const expected = svc.replicas?.value ?? 1;
  const match = matchFor(svc, urls);
  if (leftOut) {
    out.push({ section: 'ffmpeg.groups', service: svc.name, pos: svc.pos, comment: [leftOut] });
  } else if (match) {
    out.push({
      section: 'ffmpeg.groups',
      service: svc.name,
      pos: svc.command?.pos ?? svc.pos,
      comment: [`FFmpeg: ${expected} process${expected === 1 ? '' : 'es'} whose command line matches`],
      item: { name: svc.name, match, expected },
    });
  } else {
    out.push({
      section: 'ffmpeg.groups',
      service: svc.name,
      pos: svc.pos,
      comment: [
        'FFmpeg image without a command here (it comes from the image or a script): write a regular',
        'expression that matches its ffmpeg command line (`ps -o args` in the container shows it), then uncomment:',
      ],
      commented: { name: svc.name, match: 'REPLACE-ME', expected },
    });
  }

  const servers = so_far.filter((c) => c.section === 'streams.servers' && c.item);
  const seen = new Set<string>();
  for (const url of urls) {
    const stream = streamOf(url, servers);
    if (!stream) continue;
    const key = `${stream.server}/${stream.app}/${stream.stream}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // Another FFmpeg service already expects it: once is enough.
    const already = so_far.some(
      (c) =>
        c.section === 'streams.expected' &&
        c.item?.server === stream.server &&
        (c.item?.app ?? '') === stream.app &&
        c.item?.stream === stream.stream,
    );
    if (already) continue;
    out.push({
      section: 'streams.expected',
      service: svc.name,
      pos: svc.command?.pos ?? svc.pos,
      comment: [`${svc.name} ${isInput(cmd, url) ? 'reads' : 'publishes'} ${redactUrl(url)}`],
      item: { server: stream.server, ...(stream.app ? { app: stream.app } : {}), stream: stream.stream },
    });
  }
  return out;
};

function isInput(cmd: string, url: string): boolean {
  const i = cmd.indexOf(url);
  return /-i\s+["']?$/.test(cmd.slice(Math.max(0, i - 6), i));
}

function matchFor(svc: ComposeService, urls: string[]): string | undefined {
  if (!svc.command && !svc.entrypoint) return undefined;
  const cmd = commandLine(svc);
  const output = urls.filter((u) => !isInput(cmd, u)).pop();
  if (output) return escapeRegex(redactUrl(output).replace(/^[a-z]+:\/\/(\*+@)?/, ''));
  if (/\bxstack\b/.test(cmd)) return 'xstack';
  const words = cmd.split(/\s+/).filter(Boolean);
  const last = words[words.length - 1];
  return last && last !== 'ffmpeg' ? escapeRegex(last) : undefined;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A URL without its credentials (they never go into a generated file or a comment). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/\s]*@/, '$1');
}

function streamOf(
  url: string,
  servers: Contribution[],
): { server: string; app: string; stream: string } | undefined {
  const m = /^[a-z]+:\/\/(?:[^@/\s]*@)?([^:/\s]+)(?::\d+)?\/([^?\s]*)/.exec(url);
  if (!m) return undefined;
  const host = m[1]!;
  const path = m[2]!.replace(/\/+$/, '');
  const server = servers.find((s) => s.service === host);
  if (!server || !path) return undefined;
  if (server.item!.kind === 'nginx-rtmp') {
    const slash = path.indexOf('/');
    if (slash === -1) return undefined;
    return { server: String(server.item!.name), app: path.slice(0, slash), stream: path.slice(slash + 1) };
  }
  return { server: String(server.item!.name), app: '', stream: path };
}
