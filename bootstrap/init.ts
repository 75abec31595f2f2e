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
  PUSH_PORT,
  ROLE_SECRETS,
  WATCHPOST_UID,
  renderOverlay,
  AGENT_QUEUE_MAX,
  type Role,
  type SecretName,
} from './overlay.js';
import {
  AGENT_CA_FILE,
  AGENT_SCRAPE_FILE,
  RoleError,
  checkAgentOptions,
  centralDatasource,
  centralWatchpostConfig,
  renderAgentConfig,
  type AgentOptions,
} from './roles.js';
import { hostname } from 'node:os';

export const OVERLAY_FILE = 'docker-compose.monitoring.yml';
/** The central host's compose file: a project of its own (docs/scaling.md). */
export const CENTRAL_FILE = 'docker-compose.central.yml';
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
  /** single (default): the whole stack beside the app; agent: a site; central: the central host. */
  role?: Role;
  /** The site's settings (role agent). */
  agent?: AgentOptions;
}

export type FileAction = 'created' | 'updated' | 'unchanged' | 'kept-edited' | 'overwritten-edited';

export interface InitResult {
  /** The app's compose project (none for the central host, which has no app). */
  project?: ComposeProject;
  role: Role;
  /** The site and host of an agent. */
  agent?: { site: string; host: string; centralUrl: string };
  /** What happened to each managed file, by path relative to the target folder. */
  files: { path: string; action: FileAction; diff?: string }[];
  secrets: {
    path: string;
    action: 'generated' | 'copied' | 'kept' | 'mode-fixed' | 'present';
    note?: string;
  }[];
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
export function deploymentSections(opts: { slack: boolean; role?: Role }): string {
  const role = opts.role ?? 'single';
  const lines = [
    '',
    `# Set for ${role === 'central' ? CENTRAL_FILE : OVERLAY_FILE}: the containers listen on their network, read the`,
    `# secrets compose mounts under /run/secrets${role === 'central' ? '.' : ', and the exporter reads the host under /host.'}`,
  ];
  if (role !== 'central')
    lines.push(
      'exporter:',
      `  listen: ${CONTAINER_PATHS.exporterListen}`,
      `  bearer_token_file: ${CONTAINER_PATHS.secret('metrics_token')}`,
      'paths:',
      `  rootfs: ${CONTAINER_PATHS.rootfs}`,
      `  procfs: ${CONTAINER_PATHS.procfs}`,
      `  sysfs: ${CONTAINER_PATHS.sysfs}`,
    );
  if (role === 'agent') {
    lines.push(
      '# A site: no notifier here. Alerts are evaluated and sent by the central host (docs/scaling.md).',
      '',
    );
    return lines.join('\n');
  }
  lines.push(
    'notifier:',
    `  listen: ${CONTAINER_PATHS.notifierListen}`,
    `  bearer_token_file: ${CONTAINER_PATHS.secret('notifier_token')}`,
    `  state_dir: ${CONTAINER_PATHS.stateDir}`,
    '  # Links in messages: set them to where your on-call people reach Grafana and Alertmanager.',
    '  # dashboard_base_url: https://grafana.example.com',
    '  channels:',
    '    # Every notification is also logged: docker compose logs watchpost-notifier',
    '    - { name: log, type: log }',
  );
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
  project: ComposeProject | undefined,
  target: string,
  opts: {
    secretsGid: number;
    dockerGid: number;
    optionalSecrets: SecretName[];
    role: Role;
    agent?: { centralUrl: string; site: string; host: string; centralCa?: string };
  },
): Map<string, string> {
  const root = packageRoot();
  const files = new Map<string, string>();
  const projectDir = project?.dir ?? target;
  // Relative paths in the overlay resolve against the app's project folder, not the overlay's.
  const install = relative(projectDir, join(target, INSTALL_DIR)) || '.';
  const installRef = install.startsWith('..') || install.startsWith(sep) ? install : `./${install}`;
  const composeFiles = project ? project.files.map((f) => relative(projectDir, f) || f) : [];
  const overlayName = opts.role === 'central' ? CENTRAL_FILE : OVERLAY_FILE;
  const overlayRel = relative(projectDir, join(target, overlayName));
  // From a source checkout, compose can build the image itself (an npm install has no Dockerfile).
  const buildContext =
    existsSync(join(root, 'Dockerfile')) && existsSync(join(root, 'cli', 'main.ts'))
      ? relative(projectDir, root) || '.'
      : undefined;
  files.set(
    overlayName,
    renderOverlay({
      ...DEFAULT_OVERLAY_OPTIONS,
      ...(project ? { project: project.name } : {}),
      composeFiles,
      overlayFile: overlayRel,
      appNetworks: project ? appNetworks(project) : [],
      secretsGid: opts.secretsGid,
      dockerGid: opts.dockerGid,
      optionalSecrets: opts.optionalSecrets,
      dir: installRef,
      version: packageVersion(),
      buildContext,
      role: opts.role,
      ...(opts.agent
        ? { agent: { centralUrl: opts.agent.centralUrl, centralCa: opts.agent.centralCa !== undefined } }
        : {}),
    }),
  );
  const deployment = deploymentSections({
    slack: opts.optionalSecrets.includes('slack_webhook_url'),
    role: opts.role,
  });
  files.set(
    `${INSTALL_DIR}/watchpost.yml`,
    project ? renderWatchpostConfig(project, { sections: deployment }) : centralWatchpostConfig(deployment),
  );
  if (opts.role === 'agent') {
    const a = opts.agent!;
    files.set(`${INSTALL_DIR}/agent/${AGENT_SCRAPE_FILE}`, renderAgentConfig(root, a));
    if (a.centralCa !== undefined) files.set(`${INSTALL_DIR}/agent/${AGENT_CA_FILE}`, a.centralCa);
    return files;
  }
  files.set(
    `${INSTALL_DIR}/prometheus/prometheus.yml`,
    readFileSync(
      join(root, 'provisioning', opts.role === 'central' ? 'central' : 'prometheus', 'prometheus.yml'),
      'utf8',
    ),
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
      opts.role === 'central' && f === 'datasources/prometheus.yml'
        ? centralDatasource(root)
        : readFileSync(join(root, 'provisioning', 'grafana', f), 'utf8'),
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
  const role = opts.role ?? 'single';
  let agent: { centralUrl: string; site: string; host: string; centralCa?: string } | undefined;
  let pushToken: string | undefined;
  if (role === 'agent') {
    if (!opts.agent) throw new RoleError('init --role agent needs --central-url and --site');
    const a = { ...opts.agent, host: opts.agent.host ?? hostname().split('.')[0] ?? 'host' };
    checkAgentOptions(a);
    agent = { centralUrl: a.centralUrl, site: a.site, host: a.host };
    if (a.centralCaFile !== undefined)
      agent.centralCa = readInput(resolve(opts.cwd, a.centralCaFile), '--central-ca');
    if (agent.centralCa !== undefined && !/-----BEGIN CERTIFICATE-----/.test(agent.centralCa))
      throw new RoleError(`--central-ca ${a.centralCaFile}: holds no PEM certificate`);
    if (a.pushTokenFile !== undefined) {
      pushToken = readInput(resolve(opts.cwd, a.pushTokenFile), '--push-token-file').trim();
      if (pushToken === '') throw new RoleError(`--push-token-file ${a.pushTokenFile} is empty`);
      if (/\s/.test(pushToken))
        throw new RoleError(`--push-token-file ${a.pushTokenFile} holds more than one token`);
    }
  }
  // The central host has no app: it is a compose project of its own, in --dir or here.
  const project =
    role === 'central'
      ? undefined
      : await readCompose({ files: opts.composeFiles, cwd: opts.cwd, env: opts.env });
  const target = resolve(opts.cwd, opts.dir ?? project?.dir ?? '.');
  const install = join(target, INSTALL_DIR);
  const secretsDir = join(install, 'secrets');
  const secretsGid = opts.secretsGid ?? defaultSecretsGid();
  const dockerGid = dockerSocketGid(opts.dockerSocket ?? '/var/run/docker.sock');
  const { generated, optional } = ROLE_SECRETS[role];
  if (role === 'agent' && pushToken === undefined && !existsSync(join(secretsDir, 'push_token')))
    throw new RoleError(
      `init --role agent needs the central's push token: copy watchpost/secrets/push_token from the central host and pass --push-token-file FILE`,
    );

  ensureDir(install, 0o755);
  ensureDir(secretsDir, SECRETS_DIR_MODE);
  let copied: string | undefined;
  if (role === 'agent' && pushToken !== undefined) {
    const path = join(secretsDir, 'push_token');
    if (readIfExists(path) !== `${pushToken}\n`) {
      writeFileAtomic(path, `${pushToken}\n`, SECRET_MODE, secretsGid);
      copied = relative(target, path);
    }
  }

  // Secrets first: the overlay mounts the optional ones only when they exist.
  const secrets: InitResult['secrets'] = [];
  for (const name of [...generated, ...optional]) {
    const path = join(secretsDir, name);
    const rel = relative(target, path);
    if (rel === copied) {
      secrets.push({ path: rel, action: 'copied' });
      continue;
    }
    let st;
    try {
      st = lstatSync(path);
    } catch {
      st = undefined;
    }
    if (!st) {
      if (generated.includes(name)) {
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
      secrets.push({ path: rel, action: generated.includes(name) ? 'kept' : 'present' });
    }
  }
  const optionalSecrets = optional.filter((n) => existsSync(join(secretsDir, n)));

  const rendered = renderFiles(project, target, {
    secretsGid,
    dockerGid,
    optionalSecrets,
    role,
    ...(agent ? { agent } : {}),
  });
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
  if (role !== 'agent') ensureDir(join(install, 'grafana', 'dashboards'), 0o755);
  if (role === 'agent') {
    // vmagent's on-disk queue: its image has no folder a non-root user may write, so this one is
    // writable by the secrets group (the agent runs as 65534 with it).
    const queue = join(install, 'agent-queue');
    ensureDir(queue, 0o770);
    if (statSync(queue).gid !== secretsGid) chownSync(queue, -1, secretsGid);
  }
  if (role === 'central') {
    // Mounted into the central Prometheus and the write proxy: the file_sd target files
    // (`watchpost targets add`) and the certificates the user puts there.
    ensureDir(join(install, 'targets'), 0o755);
    ensureDir(join(install, 'tls'), 0o755);
    // VictoriaMetrics' data: its image has no folder a non-root user may write, so this one is
    // writable by the secrets group, which only the VictoriaMetrics service is given here.
    const data = join(install, 'victoriametrics');
    ensureDir(data, 0o770);
    if (statSync(data).gid !== secretsGid) chownSync(data, -1, secretsGid);
  }
  const manifestText = `${JSON.stringify(next, null, 2)}\n`;
  if (readIfExists(manifestPath) !== manifestText) writeFileAtomic(manifestPath, manifestText, 0o644);

  if (!project) {
    return {
      role,
      files,
      secrets,
      upCommand: `cd ${relative(opts.cwd, target) || '.'} && docker compose -f ${CENTRAL_FILE} up -d`,
    };
  }
  const overlayRel = relative(project.dir, join(target, OVERLAY_FILE));
  const upCommand = [
    'docker compose',
    ...project.files.map((f) => `-f ${relative(project.dir, f) || f}`),
    `-f ${overlayRel}`,
    'up -d',
  ].join(' ');
  return {
    project,
    role,
    ...(agent ? { agent: { site: agent.site, host: agent.host, centralUrl: agent.centralUrl } } : {}),
    files,
    secrets,
    upCommand,
  };
}

/** A file the user names on the command line: its text, or an error naming the option. */
function readInput(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new RoleError(`${option} ${path}: ${(err as Error).message.replace(/^[A-Z]+: /, '')}`);
  }
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
  if (r.role === 'central')
    out.push('watchpost init --role central: the central host (docs/scaling.md, "Sites pushing")');
  else if (p)
    out.push(
      `watchpost init${r.role === 'agent' ? ` --role agent (site ${r.agent?.site}, host ${r.agent?.host})` : ''}: compose project "${p.name}" (${p.files.map((f) => relative(p.dir, f) || f).join(', ')}), ${p.services.length} services`,
    );
  for (const f of r.files) {
    if (f.action === 'unchanged') continue;
    out.push(`  ${LABEL[f.action].padEnd(9)} ${f.path}`);
  }
  const unchanged = r.files.filter((f) => f.action === 'unchanged').length;
  if (unchanged > 0) out.push(`  ${'unchanged'.padEnd(9)} ${unchanged} file(s)`);
  for (const s of r.secrets) {
    if (s.action === 'generated') out.push(`  ${'generated'.padEnd(9)} ${s.path} (mode 0640; never printed)`);
    else if (s.action === 'copied') out.push(`  ${'copied'.padEnd(9)} ${s.path} (mode 0640; never printed)`);
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
  if (r.role === 'agent') {
    out.push(
      '',
      'Next steps, from the folder of your compose file:',
      `  1. Start the app with the exporter and the agent:  ${r.upCommand}`,
      `  2. On the central host, the site's series arrive labelled site="${r.agent?.site}", host="${r.agent?.host}";`,
      `     the agent (vmagent) pushes to ${r.agent?.centralUrl}. What it scrapes: ${INSTALL_DIR}/agent/${AGENT_SCRAPE_FILE};`,
      `     what the central has not taken yet waits in ${INSTALL_DIR}/agent-queue (at most ${AGENT_QUEUE_MAX}: WATCHPOST_AGENT_QUEUE_MAX).`,
      `  3. Check the push: ${r.upCommand.replace(/ up -d$/, '')} logs watchpost-agent (no "couldn't send a block" warnings)`,
    );
    return `${out.join('\n')}\n`;
  }
  if (r.role === 'central') {
    out.push(
      '',
      'Next steps:',
      `  1. Put the write proxy's certificate (with its chain) in ${INSTALL_DIR}/tls/push.pem and its key in`,
      `     ${INSTALL_DIR}/secrets/push_tls_key, then run watchpost init --role central again (it sets the key's mode).`,
      `  2. Start it: ${r.upCommand}  (sites push to port ${PUSH_PORT}, published on all addresses)`,
      `  3. Each site: copy ${INSTALL_DIR}/secrets/push_token there and run`,
      `     watchpost init --role agent --central-url https://THIS_HOST:${PUSH_PORT}/api/v1/write --site SITE --push-token-file FILE`,
      `  4. Hosts to pull instead: watchpost targets add HOST:9850 --site SITE --host NAME (CA in ${INSTALL_DIR}/tls/ca.pem)`,
      `  5. Grafana answers on http://127.0.0.1:${port}/ on this host only (user admin, password in`,
      `     ${INSTALL_DIR}/secrets/grafana_admin_password); it reads VictoriaMetrics.`,
    );
    return `${out.join('\n')}\n`;
  }
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
    `  5. Audit the stack: watchpost check --compose ${p!.files.map((f) => relative(p!.dir, f) || f).join(' --compose ')}`,
  );
  return `${out.join('\n')}\n`;
}
