import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './helpers.js';
import { freePort } from './helpers.js';

/**
 * Real nginx-rtmp and FFmpeg for tests (recipe in /work/shared/TESTING.md): an nginx
 * with a config of the test's own on free loopback ports, FFmpeg publishers and readers.
 * Every process is tracked and stopped by its PID in `stop()`.
 */

export const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

/**
 * The nginx config: one worker by default (the stat page shows only the worker that
 * answers it); `workers` above 1 for tests of that case. `apps` are extra live
 * applications besides `live`.
 */
export function nginxConfig(
  dir: string,
  rtmpPort: number,
  httpPort: number,
  opts: { workers?: number; apps?: string[] } = {},
): string {
  const apps = (opts.apps ?? []).map((a) => `    application ${a} { live on; record off; }\n`).join('');
  return `load_module ${RTMP_MODULE};
daemon off;
master_process on;
worker_processes ${opts.workers ?? 1};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 256; }
rtmp {
  server {
    listen 127.0.0.1:${rtmpPort};
    application live { live on; record off; }
${apps}  }
}
http {
  access_log off;
  client_body_temp_path ${join(dir, 'tmp', 'client_body')};
  proxy_temp_path ${join(dir, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(dir, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(dir, 'tmp', 'scgi')};
  server {
    listen 127.0.0.1:${httpPort};
    location /stat { rtmp_stat all; }
  }
}
`;
}

export interface Process {
  proc: ChildProcess;
  output: () => string;
  /** Stops the process by its PID and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function track(proc: ChildProcess): Process {
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
  return {
    proc,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
        try {
          process.kill(proc.pid, signal);
        } catch {
          // already gone
        }
      }
      const kill = setTimeout(() => {
        if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
          try {
            process.kill(proc.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }, 5_000);
      await exited;
      clearTimeout(kill);
    },
  };
}

export class RtmpLab {
  readonly dir: string;
  rtmpPort = 0;
  httpPort = 0;
  nginx?: Process;
  private readonly procs: Process[] = [];

  constructor(
    private readonly nginxBin: string,
    private readonly ffmpegBin: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'watchpost-rtmp-'));
  }

  get statUrl(): string {
    return `http://127.0.0.1:${this.httpPort}/stat`;
  }

  publishUrl(stream: string, app = 'live'): string {
    return `rtmp://127.0.0.1:${this.rtmpPort}/${app}/${stream}`;
  }

  /** Starts nginx in the foreground and waits until the stat page answers. */
  async startNginx(opts: { workers?: number; apps?: string[] } = {}): Promise<void> {
    this.rtmpPort = await freePort();
    this.httpPort = await freePort();
    mkdirSync(join(this.dir, 'tmp'), { recursive: true });
    const conf = join(this.dir, 'nginx.conf');
    writeFileSync(conf, nginxConfig(this.dir, this.rtmpPort, this.httpPort, opts));
    const proc = spawn(this.nginxBin, ['-c', conf, '-p', this.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.nginx = track(proc);
    this.procs.push(this.nginx);
    await eventually(
      async () => {
        if (proc.exitCode !== null) throw new Error(`nginx exited: ${this.nginx!.output()}`);
        const res = await fetch(this.statUrl);
        await res.text();
        return res.ok ? true : undefined;
      },
      10_000,
      'the nginx stat page',
    );
  }

  /** An FFmpeg publisher of a test pattern with sound, at real-time speed. */
  publish(stream: string, app = 'live'): Process {
    return this.ffmpeg([
      '-nostdin',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x240:rate=10',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-g',
      '20',
      '-c:a',
      'aac',
      '-f',
      'flv',
      this.publishUrl(stream, app),
    ]);
  }

  /** A cheap FFmpeg publisher (small Sorenson video, no sound), for tests with many streams. */
  publishLight(stream: string, app = 'live'): Process {
    return this.ffmpeg([
      '-nostdin',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=160x120:rate=5',
      '-c:v',
      'flv1',
      '-f',
      'flv',
      this.publishUrl(stream, app),
    ]);
  }

  /** An FFmpeg reader that decodes the stream and throws it away. */
  read(stream: string, app = 'live'): Process {
    return this.ffmpeg([
      '-nostdin',
      '-loglevel',
      'error',
      '-i',
      this.publishUrl(stream, app),
      '-f',
      'null',
      '-',
    ]);
  }

  /**
   * A cheap FFmpeg mosaic (two test patterns side by side through the xstack filter, thrown
   * away), tagged with `tag` in its command line so a test can tell its own mosaics from any
   * other xstack FFmpeg on the machine.
   */
  mosaic(tag: string): Process {
    return this.ffmpeg([
      '-nostdin',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=80x60:rate=2',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=80x60:rate=2',
      '-filter_complex',
      '[0:v][1:v]xstack=inputs=2:layout=0_0|w0_0[v]',
      '-map',
      '[v]',
      '-metadata',
      `comment=${tag}`,
      '-f',
      'null',
      '-',
    ]);
  }

  private ffmpeg(args: string[]): Process {
    const p = track(spawn(this.ffmpegBin, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.procs.push(p);
    return p;
  }

  /** Stops every process this lab started, by PID, and removes its folder. */
  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
