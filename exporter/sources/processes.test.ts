import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCmdline, parseProcessCpuSeconds, scanProcesses } from './processes.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A /proc/PID/stat line with utime and stime (in ticks) at fields 14 and 15. */
function statLine(pid: number, comm: string, utime: number, stime: number): string {
  return `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194304 5000 0 0 0 ${utime} ${stime} 0 0 20 0 3 0 12345 1000000 2000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 0 0 0 0 0 0\n`;
}

function fakeProcfs(procs: Record<string, { cmdline?: string; stat?: string }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'watchpost-proc-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'stat'), 'cpu  1 2 3 4\n');
  mkdirSync(join(dir, 'self'));
  for (const [pid, files] of Object.entries(procs)) {
    mkdirSync(join(dir, pid));
    if (files.cmdline !== undefined) writeFileSync(join(dir, pid, 'cmdline'), files.cmdline);
    if (files.stat !== undefined) writeFileSync(join(dir, pid, 'stat'), files.stat);
  }
  return dir;
}

describe('parseCmdline', () => {
  it('splits on NUL and drops the trailing one', () => {
    assert.deepEqual(parseCmdline('ffmpeg\0-i\0a b.mp4\0'), ['ffmpeg', '-i', 'a b.mp4']);
    assert.deepEqual(parseCmdline(''), []);
  });
});

describe('parseProcessCpuSeconds', () => {
  it('sums utime and stime in USER_HZ ticks, whatever the command name holds', () => {
    assert.equal(parseProcessCpuSeconds(statLine(42, 'ff) mpeg (x', 250, 50)), 3);
    assert.throws(() => parseProcessCpuSeconds('garbage'), /not a \/proc\/PID\/stat line/);
  });
});

describe('scanProcesses', () => {
  it('finds the processes whose argv[0] matches, skipping kernel threads and vanished pids', async () => {
    const procfs = fakeProcfs({
      '100': {
        cmdline: '/usr/bin/ffmpeg\0-i\0rtsp://cam1/stream\0-f\0flv\0rtmp://127.0.0.1/live/cam1\0',
        stat: statLine(100, 'ffmpeg', 300, 100),
      },
      '101': {
        cmdline: 'ffmpeg\0-filter_complex\0xstack=inputs=4\0out.flv\0',
        stat: statLine(101, 'ffmpeg', 5, 5),
      },
      // ffprobe and a binary whose name merely ends in ffmpeg do not match (^|/)ffmpeg$.
      '102': { cmdline: '/usr/bin/ffprobe\0x\0', stat: statLine(102, 'ffprobe', 1, 1) },
      '103': { cmdline: '/opt/notffmpeg\0x\0', stat: statLine(103, 'notffmpeg', 1, 1) },
      // A kernel thread: empty cmdline.
      '2': { cmdline: '', stat: statLine(2, 'kthreadd', 0, 0) },
      // Vanished between readdir and reading its files: no cmdline, no stat.
      '104': {},
      // Vanished between reading cmdline and stat.
      '105': { cmdline: 'ffmpeg\0-i\0x\0' },
    });
    const procs = await scanProcesses(procfs, /(^|\/)ffmpeg$/);
    procs.sort((a, b) => a.pid - b.pid);
    assert.deepEqual(procs, [
      {
        pid: 100,
        argv: ['/usr/bin/ffmpeg', '-i', 'rtsp://cam1/stream', '-f', 'flv', 'rtmp://127.0.0.1/live/cam1'],
        cpuSeconds: 4,
      },
      { pid: 101, argv: ['ffmpeg', '-filter_complex', 'xstack=inputs=4', 'out.flv'], cpuSeconds: 0.1 },
      { pid: 105, argv: ['ffmpeg', '-i', 'x'], cpuSeconds: undefined },
    ]);
  });

  it('rejects when the procfs folder cannot be listed', async () => {
    await assert.rejects(
      scanProcesses('/nonexistent-procfs', /ffmpeg/),
      /cannot list \/nonexistent-procfs: ENOENT/,
    );
  });
});
