// The overlay's footprint: image sizes and the idle memory of the monitoring services.
// `npm run bench:overlay` (root, dockerd, docker-compose; scripts/build-local-images.sh makes
// the images, as the e2e test does). `watchpost init` on a one-service app, then docker-compose
// brings up the exporter, the notifier, Prometheus and Alertmanager with the shipped settings
// (15 s scrape and evaluation intervals). After BENCH_IDLE_SECONDS (120) each container's main
// process RSS (VmRSS of its PID on the host) is read. Reference, in the same run: a container
// of the same Node base running an empty `node` process (the runtime's own floor).
// Grafana is not packaged here and is not measured.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { env, writeSection } from './common.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const IDLE = env('BENCH_IDLE_SECONDS', 120);
const IMAGES = {
  WATCHPOST_IMAGE: 'watchpost-local/watchpost:test',
  PROMETHEUS_IMAGE: 'watchpost-local/prometheus:2.42',
  ALERTMANAGER_IMAGE: 'watchpost-local/alertmanager:0.25',
};
const NODE_IMAGE = 'watchpost-local/node:20';
const SERVICES = [
  'watchpost-exporter',
  'watchpost-notifier',
  'watchpost-prometheus',
  'watchpost-alertmanager',
];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 900_000, ...opts });
  if (r.status !== 0) {
    console.error(`${cmd} ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
    process.exit(2);
  }
  return r.stdout.trim();
}

const rssMiB = (container) => {
  const pid = run('docker', ['inspect', '-f', '{{.State.Pid}}', container]);
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};
const sizeMB = (image) => Number(run('docker', ['image', 'inspect', '-f', '{{.Size}}', image])) / 1e6;

run('bash', [join(ROOT, 'scripts', 'build-local-images.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
const project = `wp-bench-overlay-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'wp-bench-overlay-'));
writeFileSync(
  join(dir, 'app.yml'),
  'services:\n  worker:\n    image: local/busybox:1\n    command: ["sleep", "86400"]\n    restart: unless-stopped\n',
);
const cenv = { ...process.env, ...IMAGES, COMPOSE_PROJECT_NAME: project };
run(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'init', '--compose', 'app.yml'], {
  cwd: dir,
  env: cenv,
});
const compose = (...args) =>
  run('docker-compose', ['-p', project, '-f', 'app.yml', '-f', 'docker-compose.monitoring.yml', ...args], {
    cwd: dir,
    env: cenv,
  });
const reference = `${project}-node-floor`;
try {
  compose('up', '-d', 'worker', ...SERVICES);
  run('docker', [
    'run',
    '-d',
    '--name',
    reference,
    '--network',
    'none',
    '--user',
    '10001:10001',
    '--read-only',
    NODE_IMAGE,
    'node',
    '-e',
    'setInterval(() => {}, 1 << 30)',
  ]);
  console.log(`waiting ${IDLE} s for the overlay to settle...`);
  await new Promise((r) => setTimeout(r, IDLE * 1000));
  const rows = SERVICES.map((s) => [s, rssMiB(`${project}_${s}_1`)]);
  const floor = rssMiB(reference);
  const total = rows.reduce((a, [, v]) => a + v, 0);
  const images = [
    ['watchpost (this Dockerfile on the local Node base)', sizeMB(IMAGES.WATCHPOST_IMAGE)],
    ['local Node base (node + libraries + npm + busybox)', sizeMB(NODE_IMAGE)],
    ['Prometheus (Debian binary + promtool + busybox)', sizeMB(IMAGES.PROMETHEUS_IMAGE)],
    ['Alertmanager (Debian binary + amtool + busybox)', sizeMB(IMAGES.ALERTMANAGER_IMAGE)],
  ];
  const node = run('node', ['--version']);
  const section = `## Overlay: image size and idle memory

Date: ${new Date().toISOString()}. Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown CPU'}; Node.js ${node} (the local base's node); docker-compose 1.29.

Reproduce: \`npm run bench:overlay\` (settings: BENCH_IDLE_SECONDS=${IDLE}). \`watchpost init\` on a one-service app, then \`docker-compose -f app.yml -f docker-compose.monitoring.yml up -d\` of the four monitoring services with the shipped settings (15 s scrape and evaluation intervals, the built-in collectors plus one expected container); after ${IDLE} s idle, each container's main process RSS (VmRSS of its PID on the host). Reference, same run: an empty \`node\` process in a container of the same base. Grafana cannot run on this machine and is not included; its image (grafana/grafana-oss) adds its own footprint.

| service | RSS (MiB) |
| --- | --- |
${rows.map(([s, v]) => `| ${s} | ${v.toFixed(1)} |`).join('\n')}
| **sum of the four** | **${total.toFixed(1)}** |
| reference: empty node process, same base | ${floor.toFixed(1)} |

| image | size (MB) |
| --- | --- |
${images.map(([n, v]) => `| ${n} | ${v.toFixed(1)} |`).join('\n')}

The watchpost image adds ${(images[0][1] - images[1][1]).toFixed(1)} MB (dist/, production node_modules, the shipped alert rules and provisioning) to its base. The production default base (node:20.19.5-bookworm-slim) cannot be pulled on this machine and was not measured; on a machine with a registry, \`docker build -t watchpost:0.1.0 .\` then \`docker image inspect -f '{{.Size}}' watchpost:0.1.0\` gives its size.
`;
  writeSection(join(ROOT, 'bench', 'RESULTS.md'), '## Overlay: image size and idle memory', section);
  console.log(section);
} finally {
  spawnSync('docker', ['rm', '-f', reference], { stdio: 'ignore' });
  spawnSync(
    'docker-compose',
    ['-p', project, '-f', 'app.yml', '-f', 'docker-compose.monitoring.yml', 'down', '-v', '-t', '5'],
    { cwd: dir, env: cenv, stdio: 'ignore' },
  );
}
