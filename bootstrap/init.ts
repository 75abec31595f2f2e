/**
 * `watchpost init`: reads the app's compose files and writes, beside them, everything the
 * overlay needs (docs/deploy.md, "Layout"):
 *
 *   docker-compose.monitoring.yml          the overlay, adapted to the app's networks
 *   watchpost/watchpost.yml                exporter + notifier config, derived from the app
 *   watchpost/secrets/ (0700)              generated tokens and Grafana password (0640, secrets group)
 *   watchpost/prometheus/                  prometheus.yml and rules/*.rules.yml
 *   watchpost/alertmanager/alertmanager.yml
 *   watchpost/grafana/provisioning/, watchpost/grafana/dashboards/
 *
 * Idempotent: a file is rewritten only when its content changes, secrets are generated once and
 * kept, and a file the user edited since init wrote it (its hash differs from the one recorded
 * in watchpost/.init-manifest.json) is left alone unless `force`, with a diff of what would
 * change. Secrets are never printed.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fchmodSync,
  fchownSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  chmodSync,
  chownSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { parseConfigText } from '../config/load.js';
import { packageRoot, packageVersion } from '../cli/version.js';
import { formatMode } from '../internal/secret.js';
import { readCompose, type ComposeProject } from './compose.js';
import { renderWatchpostConfig } from './detect.js';
import {
  CONTAINER_PATHS,
  DEFAULT_OVERLAY_OPTIONS,
  GENERATED_SECRETS,
  SECRET_FILES,
  WATCHPOST_UID,
  renderOverlay,
  type SecretName,
} from './overlay.js';

export const OVERLAY_FILE = 'docker-compose.monitoring.yml';
export const INSTALL_DIR = 'watchpost';
export const MANIFEST = '.init-manifest.json';
/** Mode of every secret file: owner read/write, the secrets group read (docs/deploy.md). */
export const SECRET_MODE = 0o640;
export const SECRETS_DIR_MODE = 0o700;
/** Bytes of randomness per generated secret (base64url: 43 characters). */
export const SECRET_BYTES = 32;

export interface InitOptions {
  /** The app's compose files (empty: compose's default names in cwd). */
  composeFiles: string[];
  /** Folder to write into; default the app's project folder (the first compose file's). */
  dir?: string;
  /** Overwrite files the user edited. */
  force?: boolean;
  cwd: string;
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  /** Group that owns the secrets; default: 10001 when run as root, else the caller's group. */
  secretsGid?: number;
  /** The Docker socket whose group the exporter is given; default /var/run/docker.sock. */
  dockerSocket?: string;
}

export type FileAction = 'created' | 'updated' | 'unchanged' | 'kept-edited' | 'overwritten-edited';

export interface InitResult {
  project: ComposeProject;
  /** What happened to each managed file, by path relative to the target folder. */
  files: { path: string; action: FileAction; diff?: string }[];
  secrets: { path: string; action: 'generated' | 'kept' | 'mode-fixed' | 'present'; note?: string }[];
  /** The `up` command, run from the app's folder. */
  upCommand: string;
}

interface Manifest {
  version: string;
  files: Record<string, string>;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The secrets group when none is given: see docs/deploy.md, "Secrets and user ids". */
export function defaultSecretsGid(): number {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  // root's own group would hand group 0 to every monitoring container: use watchpost's instead.
  return uid === 0 || gid === 0 ? WATCHPOST_UID : gid;
}

function dockerSocketGid(socket: string): number {
  try {
    return statSync(socket).gid;
  } catch {
    return DEFAULT_OVERLAY_OPTIONS.dockerGid;
  }
}

/** Writes `text` to `path` atomically: a temp file in the same folder, fsync, rename, fsync of the folder. */
export function writeFileAtomic(path: string, text: string, mode: number, gid?: number): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // 0600 from the start: a secret is never readable by anyone else, even for a moment.
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    try {
      if (gid !== undefined) fchownSync(fd, -1, gid);
      fchmodSync(fd, mode);
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    // The old file (if any) is untouched, and no half-written copy is left beside it.
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dirname(path));
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A URL-safe secret from the OS's CSPRNG. */
export function generateSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/** The deployment settings of watchpost.yml the overlay relies on (listen addresses, mounted paths). */
export function deploymentSections(opts: { slack: boolean }): string {
  const lines = [
    '',
    '# Set for docker-compose.monitoring.yml: the containers listen on their network, read the',
    '# secrets compose mounts under /run/secrets, and the exporter reads the host under /host.',
    'exporter:',
    `  listen: ${CONTAINER_PATHS.exporterListen}`,
    `  bearer_token_file: ${CONTAINER_PATHS.secret('metrics_token')}`,
    'paths:',
    `  rootfs: ${CONTAINER_PATHS.rootfs}`,
    `  procfs: ${CONTAINER_PATHS.procfs}`,
    `  sysfs: ${CONTAINER_PATHS.sysfs}`,
    'notifier:',
    `  listen: ${CONTAINER_PATHS.notifierListen}`,
    `  bearer_token_file: ${CONTAINER_PATHS.secret('notifier_token')}`,
    `  state_dir: ${CONTAINER_PATHS.stateDir}`,
    '  # Links in messages: set them to where your on-call people reach Grafana and Alertmanager.',
    '  # dashboard_base_url: https://grafana.example.com',
    '  channels:',
    '    # Every notification is also logged: docker compose logs watchpost-notifier',
    '    - { name: log, type: log }',
  ];
  if (opts.slack) {
    lines.push(
      `    # From ${INSTALL_DIR}/secrets/slack_webhook_url.`,
      `    - { name: slack, type: slack, slack: { webhook_url_file: ${CONTAINER_PATHS.secret('slack_webhook_url')} } }`,
    );
  } else {
    lines.push(
      `    # Slack: write the incoming-webhook URL to ${INSTALL_DIR}/secrets/slack_webhook_url and run`,
      '    # `watchpost init` again: it adds the channel here and the secret to the overlay.',
    );
  }
  lines.push(
    `    # Email: write the SMTP password to ${INSTALL_DIR}/secrets/smtp_password, run \`watchpost init\``,
    '    # again, then add a channel (docs/notifier.md):',
    '    # - name: email',
    '    #   type: email',
    `    #   email: { host: smtp.example.com, port: 587, username: alerts@example.com, password_file: ${CONTAINER_PATHS.secret('smtp_password')}, from: alerts@example.com, to: [oncall@example.com] }`,
    '',
  );
  return lines.join('\n');
}

/** Every file init manages, by path relative to the target folder, with its content. */
function renderFiles(
  project: ComposeProject,
  target: string,
  opts: { secretsGid: number; dockerGid: number; optionalSecrets: SecretName[] },
): Map<string, string> {
  const root = packageRoot();
  const files = new Map<string, string>();
  // Relative paths in the overlay resolve against the app's project folder, not the overlay's.
  const install = relative(project.dir, join(target, INSTALL_DIR)) || '.';
  const installRef = install.startsWith('..') || install.startsWith(sep) ? install : `./${install}`;
  const composeFiles = project.files.map((f) => relative(project.dir, f) || f);
  const overlayRel = relative(project.dir, join(target, OVERLAY_FILE));
  // From a source checkout, compose can build the image itself (an npm install has no Dockerfile).
  const buildContext =
    existsSync(join(root, 'Dockerfile')) && existsSync(join(root, 'cli', 'main.ts'))
      ? relative(project.dir, root) || '.'
      : undefined;
  files.set(
    OVERLAY_FILE,
    renderOverlay({
      ...DEFAULT_OVERLAY_OPTIONS,
      project: project.name,
      composeFiles,
      overlayFile: overlayRel,
      appNetworks: appNetworks(project),
      secretsGid: opts.secretsGid,
      dockerGid: opts.dockerGid,
      optionalSecrets: opts.optionalSecrets,
      dir: installRef,
      version: packageVersion(),
      buildContext,
    }),
  );
  files.set(
    `${INSTALL_DIR}/watchpost.yml`,
    renderWatchpostConfig(project, {
      sections: deploymentSections({ slack: opts.optionalSecrets.includes('slack_webhook_url') }),
    }),
  );
  files.set(
    `${INSTALL_DIR}/prometheus/prometheus.yml`,
    readFileSync(join(root, 'provisioning', 'prometheus', 'prometheus.yml'), 'utf8'),
  );
  for (const f of listFiles(join(root, 'alerts'), (n) => n.endsWith('.rules.yml'))) {
    files.set(`${INSTALL_DIR}/prometheus/rules/${f}`, readFileSync(join(root, 'alerts', f), 'utf8'));
  }
  files.set(
    `${INSTALL_DIR}/alertmanager/alertmanager.yml`,
    readFileSync(join(root, 'alerts', 'alertmanager.yml'), 'utf8'),
  );
  for (const f of walk(join(root, 'provisioning', 'grafana'))) {
    files.set(
      `${INSTALL_DIR}/grafana/provisioning/${f}`,
      readFileSync(join(root, 'provisioning', 'grafana', f), 'utf8'),
    );
  }
  for (const f of listFiles(join(root, 'dashboards'), (n) => n.endsWith('.json'))) {
    files.set(`${INSTALL_DIR}/grafana/dashboards/${f}`, readFileSync(join(root, 'dashboards', f), 'utf8'));
  }
  return files;
}

/** The networks the exporter joins: the app's default network when it has one, else all of them. */
function appNetworks(project: ComposeProject): string[] {
  const own = project.networks.filter((n) => !n.startsWith('watchpost-'));
  if (own.length === 0 || own.includes('default')) return ['default'];
  return own;
}

function listFiles(dir: string, keep: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && keep(e.name))
    .map((e) => e.name)
    .sort();
}

function walk(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory()) out.push(...walk(join(dir, e.name), `${prefix}${e.name}/`));
    else if (e.isFile()) out.push(`${prefix}${e.name}`);
  }
  return out;
}

function readManifest(path: string): Manifest {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    if (m && typeof m.files === 'object') return m;
  } catch {
    // none yet, or unreadable: every existing file then counts as the user's
  }
  return { version: '', files: {} };
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Creates `dir` (and parents) with `mode`; an existing folder gets `mode` too. */
function ensureDir(dir: string, mode: number): void {
  mkdirSync(dir, { recursive: true, mode });
  if ((statSync(dir).mode & 0o777) !== mode) chmodSync(dir, mode);
}

/** Runs init. Throws ComposeError (bad compose input) or Error (cannot write). */
export async function runInit(opts: InitOptions): Promise<InitResult> {
  const project = await readCompose({ files: opts.composeFiles, cwd: opts.cwd, env: opts.env });
  const target = resolve(opts.cwd, opts.dir ?? project.dir);
  const install = join(target, INSTALL_DIR);
  const secretsDir = join(install, 'secrets');
  const secretsGid = opts.secretsGid ?? defaultSecretsGid();
  const dockerGid = dockerSocketGid(opts.dockerSocket ?? '/var/run/docker.sock');

  ensureDir(install, 0o755);
  ensureDir(secretsDir, SECRETS_DIR_MODE);

  // Secrets first: the overlay mounts the optional ones only when they exist.
  const secrets: InitResult['secrets'] = [];
  for (const name of Object.keys(SECRET_FILES) as SecretName[]) {
    const path = join(secretsDir, name);
    const rel = relative(target, path);
    let st;
    try {
      st = lstatSync(path);
    } catch {
      st = undefined;
    }
    if (!st) {
      if (GENERATED_SECRETS.includes(name)) {
        writeFileAtomic(path, `${generateSecret()}\n`, SECRET_MODE, secretsGid);
        secrets.push({ path: rel, action: 'generated' });
      }
      continue;
    }
    if (!st.isFile()) throw new Error(`${rel} is not a regular file: remove it and run watchpost init again`);
    if (st.size === 0)
      throw new Error(`${rel} is empty: write the secret into it, or delete it to have one generated`);
    const mode = st.mode & 0o777;
    if (mode !== SECRET_MODE || st.gid !== secretsGid) {
      chownSync(path, -1, secretsGid);
      chmodSync(path, SECRET_MODE);
      secrets.push({
        path: rel,
        action: 'mode-fixed',
        note: `was mode ${formatMode(mode)} group ${st.gid}, now 0640 group ${secretsGid}`,
      });
    } else {
      secrets.push({ path: rel, action: GENERATED_SECRETS.includes(name) ? 'kept' : 'present' });
    }
  }
  const optionalSecrets = (Object.keys(SECRET_FILES) as SecretName[]).filter(
    (n) => !GENERATED_SECRETS.includes(n) && existsSync(join(secretsDir, n)),
  );

  const rendered = renderFiles(project, target, { secretsGid, dockerGid, optionalSecrets });
  // What init writes must load: a broken watchpost.yml is a bug here, not the user's problem later.
  const configText = rendered.get(`${INSTALL_DIR}/watchpost.yml`)!;
  parseConfigText(configText, `${INSTALL_DIR}/watchpost.yml`, {}, install, { secretsOf: 'none' });

  const manifestPath = join(install, MANIFEST);
  const manifest = readManifest(manifestPath);
  const next: Manifest = { version: packageVersion(), files: {} };
  const files: InitResult['files'] = [];
  for (const [rel, text] of rendered) {
    const path = join(target, rel);
    const current = readIfExists(path);
    const recorded = manifest.files[rel];
    if (current === text) {
      files.push({ path: rel, action: 'unchanged' });
      next.files[rel] = sha256(text);
      continue;
    }
    if (current !== undefined && recorded !== sha256(current)) {
      // Not what init last wrote: the user's edit (or a file init never wrote).
      const diff = createTwoFilesPatch(`${rel} (yours)`, `${rel} (watchpost init)`, current, text);
      if (!opts.force) {
        files.push({ path: rel, action: 'kept-edited', diff });
        if (recorded !== undefined) next.files[rel] = recorded;
        continue;
      }
      ensureDir(dirname(path), 0o755);
      writeFileAtomic(path, text, 0o644);
      files.push({ path: rel, action: 'overwritten-edited', diff });
      next.files[rel] = sha256(text);
      continue;
    }
    ensureDir(dirname(path), 0o755);
    writeFileAtomic(path, text, 0o644);
    files.push({ path: rel, action: current === undefined ? 'created' : 'updated' });
    next.files[rel] = sha256(text);
  }
  // Grafana's dashboards folder is mounted even when no dashboard is shipped yet.
  ensureDir(join(install, 'grafana', 'dashboards'), 0o755);
  const manifestText = `${JSON.stringify(next, null, 2)}\n`;
  if (readIfExists(manifestPath) !== manifestText) writeFileAtomic(manifestPath, manifestText, 0o644);

  const overlayRel = relative(project.dir, join(target, OVERLAY_FILE));
  const upCommand = [
    'docker compose',
    ...project.files.map((f) => `-f ${relative(project.dir, f) || f}`),
    `-f ${overlayRel}`,
    'up -d',
  ].join(' ');
  return { project, files, secrets, upCommand };
}

const LABEL: Record<FileAction, string> = {
  created: 'wrote',
  updated: 'updated',
  unchanged: 'unchanged',
  'kept-edited': 'KEPT',
  'overwritten-edited': 'REPLACED',
};

/** What init did and what to do next, for a terminal. Never contains a secret. */
export function formatInitResult(r: InitResult, opts: { grafanaPort?: string } = {}): string {
  const out: string[] = [];
  const p = r.project;
  out.push(
    `watchpost init: compose project "${p.name}" (${p.files.map((f) => relative(p.dir, f) || f).join(', ')}), ${p.services.length} services`,
  );
  for (const f of r.files) {
    if (f.action === 'unchanged') continue;
    out.push(`  ${LABEL[f.action].padEnd(9)} ${f.path}`);
  }
  const unchanged = r.files.filter((f) => f.action === 'unchanged').length;
  if (unchanged > 0) out.push(`  ${'unchanged'.padEnd(9)} ${unchanged} file(s)`);
  for (const s of r.secrets) {
    if (s.action === 'generated') out.push(`  ${'generated'.padEnd(9)} ${s.path} (mode 0640; never printed)`);
    else if (s.action === 'mode-fixed') out.push(`  ${'fixed'.padEnd(9)} ${s.path}: ${s.note}`);
    else out.push(`  ${'kept'.padEnd(9)} ${s.path}`);
  }
  const kept = r.files.filter((f) => f.action === 'kept-edited');
  if (kept.length > 0) {
    out.push(
      '',
      `${kept.length} file(s) you edited were left as they are; \`watchpost init --force\` replaces them with:`,
    );
    for (const f of kept) out.push(f.diff!.trimEnd());
  }
  const replaced = r.files.filter((f) => f.action === 'overwritten-edited');
  for (const f of replaced) out.push('', `Replaced your edits (--force):`, f.diff!.trimEnd());
  const port = opts.grafanaPort ?? '3000';
  out.push(
    '',
    'Next steps, from the folder of your compose file:',
    `  1. Start the app with its monitoring:  ${r.upCommand}`,
    `     (it builds the watchpost image on first start; docs/deploy.md says what runs where)`,
    `  2. Grafana answers on http://127.0.0.1:${port}/ on this host only (user admin, password in`,
    `     ${INSTALL_DIR}/secrets/grafana_admin_password); from elsewhere: ssh -L ${port}:127.0.0.1:${port} THIS_HOST`,
    `  3. Slack: write the webhook URL to ${INSTALL_DIR}/secrets/slack_webhook_url, run watchpost init again, then`,
    '     the up command. Email: see the comment under notifier.channels in watchpost/watchpost.yml.',
    `  4. Send a test notification: ${r.upCommand.replace(/ up -d$/, '')} exec watchpost-notifier node dist/cli/main.js notify-test`,
    `  5. Audit the stack: watchpost check --compose ${p.files.map((f) => relative(p.dir, f) || f).join(' --compose ')}`,
  );
  return `${out.join('\n')}\n`;
}
