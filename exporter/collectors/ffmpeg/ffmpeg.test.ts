import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfigText } from '../../../config/load.js';
import { silentLogger } from '../../../internal/log.js';
import { countGroups, FfmpegCollector } from './ffmpeg.js';
import { collectSamples } from '../../../test/samples.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function stat(pid: number, utime: number, stime: number): string {
  return `${pid} (ffmpeg) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 100 0 0\n`;
}

function procfs(procs: Record<string, [string[], number, number]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-ffmpeg-'));
  dirs.push(dir);
  for (const [pid, [argv, u, s]] of Object.entries(procs)) {
    mkdirSync(join(dir, pid));
    writeFileSync(join(dir, pid, 'cmdline'), argv.map((a) => `${a}\0`).join(''));
    writeFileSync(join(dir, pid, 'stat'), stat(Number(pid), u, s));
  }
  return dir;
}

/** Runs one collection and returns the samples. */
const collect = (c: FfmpegCollector) => collectSamples(c);

const YAML = (proc: string) => `
paths: { procfs: "${proc}" }
collectors:
  ffmpeg:
    groups:
      - { name: publishers, match: "-f flv rtmp://", expected: 2 }
      - { name: mosaic, match: "xstack", expected: 1 }
      - { name: cam1, match: "/cam1( |$)" }
`;

describe('FfmpegCollector', () => {
  it('counts processes per group, with their CPU time and the expected count', async () => {
    const dir = procfs({
      '10': [['/usr/bin/ffmpeg', '-i', 'x', '-f', 'flv', 'rtmp://h/live/cam1'], 100, 50],
      '11': [['ffmpeg', '-i', 'y', '-f', 'flv', 'rtmp://h/live/cam2'], 20, 30],
      '12': [['ffmpeg', '-i', 'rtmp://h/live/cam1', '-f', 'null', '-'], 7, 3],
      '13': [['/usr/bin/bash', '-c', 'ffmpeg -f flv rtmp://x'], 1, 1],
    });
    const c = new FfmpegCollector({
      config: parseConfigText(YAML(dir), 'watchpost.yml', {}),
      log: silentLogger,
    });
    const s = await collect(c);
    assert.deepEqual(Object.fromEntries(s), {
      'watchpost_ffmpeg_processes{group="publishers"}': 2,
      'watchpost_ffmpeg_processes{group="mosaic"}': 0,
      'watchpost_ffmpeg_processes{group="cam1"}': 2,
      'watchpost_ffmpeg_expected_processes{group="publishers"}': 2,
      'watchpost_ffmpeg_expected_processes{group="mosaic"}': 1,
      'watchpost_ffmpeg_expected_processes{group="cam1"}': 0,
      'watchpost_ffmpeg_cpu_seconds{group="publishers"}': 2,
      'watchpost_ffmpeg_cpu_seconds{group="mosaic"}': 0,
      'watchpost_ffmpeg_cpu_seconds{group="cam1"}': 1.6,
    });
  });

  it('fails the run when procfs cannot be listed', async () => {
    const c = new FfmpegCollector({
      config: parseConfigText(YAML('/nonexistent-procfs'), 'watchpost.yml', {}),
      log: silentLogger,
    });
    await assert.rejects(c.collect(new AbortController().signal), /cannot list \/nonexistent-procfs/);
  });

  it('countGroups matches on the command line joined by spaces', () => {
    const counts = countGroups(
      [{ pid: 1, argv: ['ffmpeg', '-filter_complex', '[0][1]xstack=inputs=2'], cpuSeconds: 1 }],
      [{ name: 'm', match: /-filter_complex \[0\]\[1\]xstack/, expected: 1 }],
    );
    assert.deepEqual(counts, [{ group: 'm', processes: 1, cpuSeconds: 1, expected: 1 }]);
  });
});
