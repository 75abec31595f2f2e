import { closeSync, fstatSync, openSync, readSync, constants as fsConstants } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import { fileErrorReason } from '../internal/fs-errors.js';
import { parseDotEnv, type DotEnv } from './dotenv.js';
import { interpolateString, type Lookup } from './interpolate.js';

/**
 * The one reader of an application's compose files, used by `watchpost init` (to derive
 * what to watch) and by `watchpost check --compose` (to audit it).
 *
 * It does what the compose client does before it runs anything — default file names,
 * `.env`, `${VAR}` interpolation, the project name, merging several `-f` files — but keeps,
 * for every service and every value, the file and line the user wrote it on (through the
 * `yaml` package's node ranges), so a generated comment or an audit finding can point
 * there rather than at a merged document nobody wrote.
 *
 * Bad input (unreadable or non-regular files, invalid YAML, wrong types, unknown keys,
 * alias bombs, oversized files) throws a ComposeError naming file:line and key.
 */

export interface Pos {
  /** The file as the user named it (relative to cwd when it is under cwd). */
  file: string;
  line: number;
  column: number;
}

/** A value and where it was written. `via` is the `.env` line a `${VAR}` in it was read from. */
export interface Located<T> {
  value: T;
  pos: Pos;
  via?: Pos;
}

export interface ComposePort {
  /** The container port (or the first of a range). */
  target: number;
  /** The host port, when published to the host; undefined for a port only given as "80". */
  published?: string;
  /** The host address it is published on; undefined means every interface. */
  hostIp?: string;
  protocol: string;
  /** The port exactly as written, for messages. */
  text: string;
  pos: Pos;
}

export interface ComposeVolume {
  type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'image' | 'cluster';
  /** Host path (bind) or volume name; undefined for an anonymous volume. */
  source?: string;
  target: string;
  readOnly: boolean;
  text: string;
  pos: Pos;
}

export interface EnvEntry {
  key: string;
  /** Undefined when only the name is given (the value comes from the shell at run time). */
  value?: string;
  pos: Pos;
  via?: Pos;
  /** Where it was written: the service's `environment:` or an `env_file`. */
  source: 'environment' | 'env_file';
}

export interface ComposeHealthcheck {
  /** The test as argv (CMD/CMD-SHELL form kept as written, e.g. ["CMD-SHELL", "curl -f ..."]). */
  test?: Located<string[]>;
  disable: boolean;
  pos: Pos;
}

export interface ComposeService {
  name: string;
  /** The line of the service's key in the first file that declares it. */
  pos: Pos;
  image?: Located<string>;
  build?: Pos;
  command?: Located<string[]>;
  entrypoint?: Located<string[]>;
  containerName?: Located<string>;
  ports: ComposePort[];
  expose: Located<number>[];
  environment: EnvEntry[];
  envFiles: Located<string>[];
  volumes: ComposeVolume[];
  healthcheck?: ComposeHealthcheck;
  restart?: Located<string>;
  /** deploy.restart_policy.condition */
  deployRestart?: Located<string>;
  profiles: Located<string>[];
  user?: Located<string>;
  privileged?: Located<boolean>;
  capAdd: Located<string>[];
  capDrop: Located<string>[];
  networkMode?: Located<string>;
  pid?: Located<string>;
  ipc?: Located<string>;
  securityOpt: Located<string>[];
  /** mem_limit, or deploy.resources.limits.memory */
  memLimit?: Located<string>;
  /** pids_limit, or deploy.resources.limits.pids */
  pidsLimit?: Located<number>;
  readOnly?: Located<boolean>;
  /** Label keys and values, in order. */
  labels: Map<string, Located<string>>;
  dependsOn: { service: string; condition: string; pos: Pos }[];
  networks: Located<string>[];
  replicas?: Located<number>;
  secrets: Located<string>[];
}

export interface ComposeProject {
  name: string;
  /** Where the project name came from. */
  nameSource: 'name' | 'COMPOSE_PROJECT_NAME' | 'directory';
  /** The project directory (the first file's folder), absolute. */
  dir: string;
  /** The compose files read, absolute, in merge order. */
  files: string[];
  services: ComposeService[];
  /** Network names as declared under top-level `networks:` (the implicit `default` included). */
  networks: string[];
  /** Top-level `secrets:` that are files: name, file (absolute) and where it is declared. */
  secretFiles: { name: string; file: string; pos: Pos }[];
  /** The project's `.env` file, when there is one. */
  dotenv?: DotEnv;
  /** Env files the services read (absolute path → parsed), for the audit. */
  envFiles: DotEnv[];
  /** What the compose client would only warn about (an unset variable, a key not followed). */
  warnings: ComposeProblem[];
}

export interface ComposeProblem {
  file: string;
  line?: number;
  column?: number;
  /** Key path, e.g. `services.web.ports.0`; empty for the whole file. */
  path: string;
  message: string;
}

export class ComposeError extends Error {
  constructor(readonly problems: ComposeProblem[]) {
    super(problems.map(formatComposeProblem).join('\n'));
    this.name = 'ComposeError';
  }
}

export function formatComposeProblem(p: ComposeProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** Compose's default file names, in the order it looks for them. */
export const DEFAULT_COMPOSE_FILES = [
  'compose.yaml',
  'compose.yml',
  'docker-compose.yml',
  'docker-compose.yaml',
];

/** A compose file larger than this is refused: real ones are a few KiB, and parsing is in memory. */
export const MAX_COMPOSE_BYTES = 4 * 1024 * 1024;
/** Nodes produced by expanding aliases, across a file: far above any real file, far below a bomb. */
const MAX_EXPANDED_NODES = 200_000;

export interface ReadComposeOptions {
  files: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  /** compose's --project-directory; default the first file's folder. */
  projectDir?: string;
}

export async function readCompose(opts: ReadComposeOptions): Promise<ComposeProject> {
  return readComposeSync(opts);
}

/** The same as readCompose, synchronously (everything it reads is a small local file). */
export function readComposeSync(opts: ReadComposeOptions): ComposeProject {
  const files = resolveFiles(opts.files, opts.cwd);
  const display = (abs: string) => displayPath(abs, opts.cwd);
  const dir = opts.projectDir ? resolve(opts.cwd, opts.projectDir) : dirname(files[0]!);
  const warnings: ComposeProblem[] = [];

  // The shell's environment wins over .env, as in compose.
  const dotenvPath = resolve(dir, '.env');
  let dotenv: DotEnv | undefined;
  const dotenvText = readSmallFile(dotenvPath, display(dotenvPath), { optional: true });
  if (dotenvText !== undefined) dotenv = parseDotEnv(dotenvText, dotenvPath, display(dotenvPath));
  const lookup: Lookup = (name) => {
    const shell = opts.env[name];
    if (shell !== undefined) return { value: shell };
    const entry = dotenv?.entries.find((e) => e.key === name);
    if (entry) return { value: entry.value, via: entry.pos };
    return undefined;
  };

  const parsed = files.map((abs) => parseComposeFile(abs, display(abs), lookup, warnings));
  const merged = parsed.reduce((acc, next) => mergeTop(acc, next));

  const problems: ComposeProblem[] = [];
  const project = buildProject(merged, {
    dir,
    files,
    lookup,
    display,
    problems,
    warnings,
    dotenv,
    envFiles: [],
  });
  if (problems.length > 0)
    throw new ComposeError(
      problems.sort(
        (a, b) =>
          a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
      ),
    );
  return project;
}

function resolveFiles(files: string[], cwd: string): string[] {
  if (files.length > 0) return files.map((f) => resolve(cwd, f));
  for (const name of DEFAULT_COMPOSE_FILES) {
    const abs = resolve(cwd, name);
    if (readSmallFile(abs, name, { optional: true, probeOnly: true }) !== undefined) return [abs];
  }
  throw new ComposeError([
    {
      file: cwd,
      path: '',
      message: `no compose file found: looked for ${DEFAULT_COMPOSE_FILES.join(', ')} (name one with --compose FILE)`,
    },
  ]);
}

export function displayPath(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

/**
 * Reads a regular file of at most MAX_COMPOSE_BYTES. A FIFO or device is refused before
 * it is read (reading one could block forever or never end). Returns undefined for a
 * missing optional file.
 */
export function readSmallFile(
  abs: string,
  shown: string,
  opts: { optional?: boolean; probeOnly?: boolean } = {},
): string | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO with no writer would otherwise hang here.
    fd = openSync(abs, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    if (opts.optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ComposeError([{ file: shown, path: '', message: `file ${fileErrorReason(err)}` }]);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory())
      throw new ComposeError([{ file: shown, path: '', message: 'is a directory, not a compose file' }]);
    if (!st.isFile())
      throw new ComposeError([
        { file: shown, path: '', message: 'is not a regular file (a FIFO, socket or device is not read)' },
      ]);
    if (st.size > MAX_COMPOSE_BYTES)
      throw new ComposeError([
        {
          file: shown,
          path: '',
          message: `is ${(st.size / 1048576).toFixed(1)} MiB; files above ${MAX_COMPOSE_BYTES / 1048576} MiB are refused (is this the right file?)`,
        },
      ]);
    if (opts.probeOnly) return '';
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------
// A located tree: the YAML with aliases and `<<` merges expanded, scalars interpolated,
// every node keeping the position it was written at.

export type LNode = LScalar | LSeq | LMap;
export interface LScalar {
  kind: 'scalar';
  value: string | number | boolean | null;
  pos: Pos;
  via?: Pos;
}
export interface LSeq {
  kind: 'seq';
  items: LNode[];
  pos: Pos;
}
export interface LMap {
  kind: 'map';
  entries: Map<string, { keyPos: Pos; value: LNode }>;
  pos: Pos;
}

function parseComposeFile(abs: string, shown: string, lookup: Lookup, warnings: ComposeProblem[]): LMap {
  const text = readSmallFile(abs, shown)!;
  const lineCounter = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: false });
  } catch (err) {
    throw new ComposeError([{ file: shown, path: '', message: `invalid YAML: ${(err as Error).message}` }]);
  }
  const posOf = (offset: number | undefined): Pos => {
    if (offset === undefined) return { file: shown, line: 1, column: 1 };
    const p = lineCounter.linePos(offset);
    return { file: shown, line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    throw new ComposeError(
      doc.errors.map((e) => ({
        file: shown,
        ...lineCol(posOf(e.pos[0])),
        path: '',
        message: `invalid YAML: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  const problems: ComposeProblem[] = [];
  let budget = MAX_EXPANDED_NODES;
  const convert = (node: unknown, path: string[], depth: number): LNode => {
    if (--budget < 0) {
      throw new ComposeError([
        {
          file: shown,
          ...lineCol(posOf((node as YamlNode | undefined)?.range?.[0])),
          path: path.join('.'),
          message: `more than ${MAX_EXPANDED_NODES} values once aliases are expanded (an alias bomb?); refused`,
        },
      ]);
    }
    if (depth > 64) {
      throw new ComposeError([
        {
          file: shown,
          ...lineCol(posOf((node as YamlNode | undefined)?.range?.[0])),
          path: path.join('.'),
          message: 'nested more than 64 levels deep; refused',
        },
      ]);
    }
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target)
        throw new ComposeError([
          {
            file: shown,
            ...lineCol(posOf(node.range?.[0])),
            path: path.join('.'),
            message: `unknown alias *${node.source}`,
          },
        ]);
      return convert(target, path, depth + 1);
    }
    const pos = posOf((node as YamlNode | undefined)?.range?.[0]);
    if (isMap(node)) {
      const out: LMap = { kind: 'map', entries: new Map(), pos };
      const merges: LNode[] = [];
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key;
        const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
        const keyPos = posOf((keyNode as YamlNode | undefined)?.range?.[0] ?? pos.line);
        if (key === undefined) {
          problems.push({
            file: shown,
            ...lineCol(keyPos),
            path: path.join('.'),
            message: 'expected a plain key',
          });
          continue;
        }
        if (key === '<<') {
          merges.push(convert(pair.value, path, depth + 1));
          continue;
        }
        const value =
          pair.value === null || pair.value === undefined
            ? ({ kind: 'scalar', value: null, pos: keyPos } as LScalar)
            : convert(pair.value, [...path, key], depth + 1);
        out.entries.set(key, { keyPos, value });
      }
      // `<<: *anchor` (or a list of them): keys written in the map itself win, earlier merges win.
      for (const m of merges.flatMap((x) => (x.kind === 'seq' ? x.items : [x]))) {
        if (m.kind !== 'map') {
          problems.push({
            file: shown,
            ...lineCol(m.pos),
            path: path.join('.'),
            message: 'expected a mapping (or a list of them) to merge with "<<"',
          });
          continue;
        }
        for (const [k, v] of m.entries) if (!out.entries.has(k)) out.entries.set(k, v);
      }
      return out;
    }
    if (isSeq(node)) {
      return {
        kind: 'seq',
        items: node.items.map((item, i) => convert(item, [...path, String(i)], depth + 1)),
        pos,
      };
    }
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === 'string') {
        // Compose interpolates every value (not keys); extension fields (x-*) too.
        const r = interpolateString(v, lookup);
        for (const e of r.errors)
          problems.push({ file: shown, ...lineCol(pos), path: path.join('.'), message: e });
        for (const w of r.unset)
          warnings.push({
            file: shown,
            ...lineCol(pos),
            path: path.join('.'),
            message: `variable ${w} is not set; it is read as an empty string (as compose does)`,
          });
        return { kind: 'scalar', value: r.value, pos, ...(r.via ? { via: r.via } : {}) };
      }
      if (v === null || typeof v === 'number' || typeof v === 'boolean')
        return { kind: 'scalar', value: v, pos };
      if (typeof v === 'bigint') return { kind: 'scalar', value: Number(v), pos };
      return { kind: 'scalar', value: String(v), pos };
    }
    if (node === null || node === undefined) return { kind: 'scalar', value: null, pos };
    return { kind: 'scalar', value: String(node), pos };
  };
  const root = doc.contents === null ? undefined : convert(doc.contents, [], 0);
  if (problems.length > 0) throw new ComposeError(problems);
  if (root === undefined || (root.kind === 'scalar' && root.value === null)) {
    throw new ComposeError([
      { file: shown, path: '', message: 'is empty: expected a mapping with "services:"' },
    ]);
  }
  if (root.kind !== 'map') {
    throw new ComposeError([
      {
        file: shown,
        ...lineCol(root.pos),
        path: '',
        message: 'expected a mapping with "services:" at the top level',
      },
    ]);
  }
  checkKeys(root, shown);
  return root;
}

function lineCol(pos: Pos): { line: number; column: number } {
  return { line: pos.line, column: pos.column };
}

// ---------------------------------------------------------------------------------------
// Keys the compose specification defines. An unknown key is an error (compose rejects it
// too); `x-` extension keys are allowed anywhere.

const TOP_KEYS = new Set([
  'version',
  'name',
  'include',
  'services',
  'networks',
  'volumes',
  'secrets',
  'configs',
  'models',
]);
export const SERVICE_KEYS = new Set([
  'annotations', 'attach', 'blkio_config', 'build', 'cap_add', 'cap_drop', 'cgroup', 'cgroup_parent',
  'command', 'configs', 'container_name', 'cpu_count', 'cpu_percent', 'cpu_period', 'cpu_quota',
  'cpu_rt_period', 'cpu_rt_runtime', 'cpu_shares', 'cpus', 'cpuset', 'credential_spec', 'depends_on',
  'deploy', 'develop', 'device_cgroup_rules', 'devices', 'dns', 'dns_opt', 'dns_search', 'domainname',
  'entrypoint', 'env_file', 'environment', 'expose', 'extends', 'external_links', 'extra_hosts', 'gpus',
  'group_add', 'healthcheck', 'hostname', 'image', 'init', 'ipc', 'isolation', 'label_file', 'labels',
  'links', 'logging', 'mac_address', 'mem_limit', 'mem_reservation', 'mem_swappiness', 'memswap_limit',
  'models', 'network_mode', 'networks', 'oom_kill_disable', 'oom_score_adj', 'pid', 'pids_limit',
  'platform', 'ports', 'post_start', 'pre_stop', 'privileged', 'profiles', 'provider', 'pull_policy',
  'read_only', 'restart', 'runtime', 'scale', 'secrets', 'security_opt', 'shm_size', 'stdin_open',
  'stop_grace_period', 'stop_signal', 'storage_opt', 'sysctls', 'tmpfs', 'tty', 'ulimits',
  'use_api_socket', 'user', 'userns_mode', 'uts', 'volumes', 'volumes_from', 'working_dir',
]); // prettier-ignore
const HEALTHCHECK_KEYS = new Set([
  'test',
  'interval',
  'timeout',
  'retries',
  'start_period',
  'start_interval',
  'disable',
]);

function checkKeys(root: LMap, file: string): void {
  const problems: ComposeProblem[] = [];
  const unknown = (keyPos: Pos, path: string, key: string, allowed: Set<string>) => {
    problems.push({
      file,
      ...lineCol(keyPos),
      path: path ? `${path}.${key}` : key,
      message: `unknown key "${key}"${suggest(key, [...allowed])} (extension keys start with "x-")`,
    });
  };
  for (const [key, { keyPos, value }] of root.entries) {
    if (key.startsWith('x-')) continue;
    if (!TOP_KEYS.has(key)) {
      unknown(keyPos, '', key, TOP_KEYS);
      continue;
    }
    if (key === 'services') {
      if (value.kind === 'scalar' && value.value === null) continue;
      if (value.kind !== 'map') {
        problems.push({
          file,
          ...lineCol(value.pos),
          path: 'services',
          message: 'expected a mapping of services',
        });
        continue;
      }
      for (const [svc, { value: body }] of value.entries) {
        if (svc.startsWith('x-')) continue;
        if (body.kind === 'scalar' && body.value === null) continue;
        if (body.kind !== 'map') {
          problems.push({
            file,
            ...lineCol(body.pos),
            path: `services.${svc}`,
            message: "expected a mapping of the service's settings",
          });
          continue;
        }
        for (const [k, { keyPos: kp, value: v }] of body.entries) {
          if (k.startsWith('x-')) continue;
          if (!SERVICE_KEYS.has(k)) unknown(kp, `services.${svc}`, k, SERVICE_KEYS);
          else if (k === 'healthcheck' && v.kind === 'map') {
            for (const [hk, { keyPos: hp }] of v.entries)
              if (!hk.startsWith('x-') && !HEALTHCHECK_KEYS.has(hk))
                unknown(hp, `services.${svc}.healthcheck`, hk, HEALTHCHECK_KEYS);
          }
        }
      }
    }
  }
  if (problems.length > 0) throw new ComposeError(problems);
}

function suggest(key: string, candidates: string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(key, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3))
    ? ` (did you mean "${best}"?)`
    : '';
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

// ---------------------------------------------------------------------------------------
// Merging several files as compose merges them (compose-spec merge rules): mappings merge
// recursively and later files win for scalars; `command`, `entrypoint` and `healthcheck.test`
// are replaced; `environment`, `labels`, `extra_hosts`, `sysctls`, `depends_on`, `networks`,
// `build.args` merge by key (list or mapping form); `volumes`, `devices`, `secrets`,
// `configs` merge by target; other sequences are appended without duplicates.

const REPLACED = new Set(['command', 'entrypoint', 'test']);
const BY_KEY = new Set([
  'environment',
  'labels',
  'extra_hosts',
  'sysctls',
  'depends_on',
  'networks',
  'args',
  'annotations',
]);
const BY_TARGET = new Set(['volumes', 'devices', 'secrets', 'configs']);

function mergeTop(base: LMap, over: LMap): LMap {
  return mergeMaps(base, over, []);
}

function mergeMaps(base: LMap, over: LMap, path: string[]): LMap {
  const out: LMap = { kind: 'map', entries: new Map(base.entries), pos: base.pos };
  for (const [key, entry] of over.entries) {
    const prev = out.entries.get(key);
    if (!prev) {
      out.entries.set(key, entry);
      continue;
    }
    const value = mergeValue(prev.value, entry.value, [...path, key]);
    // A replaced value is where the later file wrote it; a merged one stays where it began.
    out.entries.set(key, { keyPos: value === entry.value ? entry.keyPos : prev.keyPos, value });
  }
  return out;
}

function mergeValue(base: LNode, over: LNode, path: string[]): LNode {
  const key = path[path.length - 1] ?? '';
  const inService = path[0] === 'services' && path.length >= 3;
  if (inService && REPLACED.has(key)) return over;
  if (inService && BY_KEY.has(key)) {
    const a = keyed(base);
    const b = keyed(over);
    if (a && b) return mergeMaps(a, b, path);
    return over;
  }
  if (inService && path.length === 3 && BY_TARGET.has(key) && base.kind === 'seq' && over.kind === 'seq') {
    const byTarget = new Map<string, LNode>();
    for (const item of [...base.items, ...over.items]) byTarget.set(mountTarget(item), item);
    return { kind: 'seq', items: [...byTarget.values()], pos: base.pos };
  }
  if (base.kind === 'map' && over.kind === 'map') return mergeMaps(base, over, path);
  if (base.kind === 'seq' && over.kind === 'seq') {
    const seen = new Set(base.items.map(scalarKey).filter((k) => k !== undefined));
    const items = [...base.items];
    for (const item of over.items) {
      const k = scalarKey(item);
      if (k !== undefined && seen.has(k)) continue;
      items.push(item);
    }
    return { kind: 'seq', items, pos: base.pos };
  }
  return over;
}

function scalarKey(n: LNode): string | undefined {
  return n.kind === 'scalar' ? String(n.value) : undefined;
}

/** A list form (`KEY=VALUE`, or plain names for depends_on/networks) as a mapping. */
function keyed(n: LNode): LMap | undefined {
  if (n.kind === 'map') return n;
  if (n.kind !== 'seq') return undefined;
  const out: LMap = { kind: 'map', entries: new Map(), pos: n.pos };
  for (const item of n.items) {
    if (item.kind !== 'scalar' || item.value === null) return undefined;
    const text = String(item.value);
    const eq = text.indexOf('=');
    const k = eq === -1 ? text : text.slice(0, eq);
    const v: LScalar =
      eq === -1
        ? { kind: 'scalar', value: null, pos: item.pos }
        : {
            kind: 'scalar',
            value: text.slice(eq + 1),
            pos: item.pos,
            ...(item.via ? { via: item.via } : {}),
          };
    out.entries.set(k, { keyPos: item.pos, value: v });
  }
  return out;
}

function mountTarget(n: LNode): string {
  if (n.kind === 'map') {
    const t = n.entries.get('target')?.value;
    return t && t.kind === 'scalar' ? String(t.value) : JSON.stringify(n.pos);
  }
  if (n.kind === 'scalar') {
    const parts = splitVolume(String(n.value));
    return parts.target ?? String(n.value);
  }
  return JSON.stringify(n.pos);
}

/** Splits a short volume/device/secret spec: "src:dst:mode", "dst", "C:\\x:dst". */
export function splitVolume(text: string): { source?: string; target?: string; mode?: string } {
  const parts = text.split(':');
  if (parts.length === 1) return { target: parts[0] };
  if (parts.length === 2) return { source: parts[0], target: parts[1] };
  return { source: parts[0], target: parts[1], mode: parts.slice(2).join(':') };
}

// ---------------------------------------------------------------------------------------
// From the merged tree to typed services. A wrong type is an error at its line.

interface BuildContext {
  dir: string;
  files: string[];
  lookup: Lookup;
  display: (abs: string) => string;
  problems: ComposeProblem[];
  warnings: ComposeProblem[];
  dotenv: DotEnv | undefined;
  envFiles: DotEnv[];
}

function buildProject(root: LMap, ctx: BuildContext): ComposeProject {
  const { problems } = ctx;
  const bad = (node: LNode, path: string, message: string) =>
    problems.push({ file: node.pos.file, ...lineCol(node.pos), path, message });

  let name: string | undefined;
  let nameSource: ComposeProject['nameSource'] = 'directory';
  const nameNode = root.entries.get('name')?.value;
  if (nameNode && nameNode.kind === 'scalar' && nameNode.value !== null && String(nameNode.value) !== '') {
    name = String(nameNode.value);
    nameSource = 'name';
  } else if (nameNode && nameNode.kind !== 'scalar') {
    bad(nameNode, 'name', 'expected the project name as a string');
  }
  if (name === undefined) {
    const fromEnv = ctx.lookup('COMPOSE_PROJECT_NAME')?.value;
    if (fromEnv) {
      name = fromEnv;
      nameSource = 'COMPOSE_PROJECT_NAME';
    } else name = basename(ctx.dir);
  }
  const projectName = normalizeProjectName(name);
  if (projectName === '' && nameNode) bad(nameNode, 'name', `project name "${name}" has no letter or digit`);

  const services: ComposeService[] = [];
  const servicesNode = root.entries.get('services')?.value;
  if (!servicesNode || (servicesNode.kind === 'scalar' && servicesNode.value === null)) {
    problems.push({
      file: ctx.display(ctx.files[0]!),
      line: 1,
      column: 1,
      path: 'services',
      message: 'no services: expected a "services:" mapping',
    });
  } else if (servicesNode.kind !== 'map') {
    bad(servicesNode, 'services', 'expected a mapping of services');
  } else {
    const envFileCache = new Map<string, DotEnv>();
    for (const [svcName, { keyPos, value }] of servicesNode.entries) {
      if (svcName.startsWith('x-')) continue;
      const body: LMap = value.kind === 'map' ? value : { kind: 'map', entries: new Map(), pos: value.pos };
      services.push(buildService(svcName, keyPos, body, ctx, envFileCache));
    }
    ctx.envFiles = [...envFileCache.values()];
  }

  const networks = ['default'];
  const netNode = root.entries.get('networks')?.value;
  if (netNode && netNode.kind === 'map') {
    for (const [n, { value }] of netNode.entries) {
      if (n.startsWith('x-') || n === 'default') continue;
      if (value.kind !== 'map' && !(value.kind === 'scalar' && value.value === null))
        bad(value, `networks.${n}`, 'expected a mapping of network settings');
      networks.push(n);
    }
  } else if (netNode && !(netNode.kind === 'scalar' && netNode.value === null)) {
    bad(netNode, 'networks', 'expected a mapping of networks');
  }

  const secretFiles: ComposeProject['secretFiles'] = [];
  const secNode = root.entries.get('secrets')?.value;
  if (secNode && secNode.kind === 'map') {
    for (const [n, { keyPos, value }] of secNode.entries) {
      if (value.kind !== 'map') continue;
      const f = value.entries.get('file')?.value;
      if (f && f.kind === 'scalar' && f.value !== null)
        secretFiles.push({ name: n, file: resolve(ctx.dir, String(f.value)), pos: keyPos });
    }
  }

  return {
    name: projectName,
    nameSource,
    dir: ctx.dir,
    files: ctx.files,
    services,
    networks,
    secretFiles,
    ...(ctx.dotenv ? { dotenv: ctx.dotenv } : {}),
    envFiles: ctx.envFiles,
    warnings: ctx.warnings,
  };
}

/** Compose's normalisation: lower case, only [a-z0-9_-], not starting with "_" or "-". */
export function normalizeProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '');
}

function buildService(
  name: string,
  pos: Pos,
  m: LMap,
  ctx: BuildContext,
  envFileCache: Map<string, DotEnv>,
): ComposeService {
  const { problems } = ctx;
  const path = (k: string) => `services.${name}.${k}`;
  const bad = (node: LNode, k: string, message: string) =>
    problems.push({ file: node.pos.file, ...lineCol(node.pos), path: path(k), message });
  const get = (k: string): LNode | undefined => {
    const v = m.entries.get(k)?.value;
    return v && !(v.kind === 'scalar' && v.value === null) ? v : undefined;
  };
  const str = (k: string, node = get(k)): Located<string> | undefined => {
    if (!node) return undefined;
    if (node.kind !== 'scalar') {
      bad(node, k, 'expected a string');
      return undefined;
    }
    return located(String(node.value), node);
  };
  const bool = (k: string, node = get(k)): Located<boolean> | undefined => {
    if (!node) return undefined;
    const b = node.kind === 'scalar' ? toBool(node.value) : undefined;
    if (b === undefined) {
      bad(node, k, 'expected true or false');
      return undefined;
    }
    return located(b, node as LScalar);
  };
  const strList = (k: string, node = get(k)): Located<string>[] => {
    if (!node) return [];
    if (node.kind === 'scalar') {
      bad(node, k, 'expected a list');
      return [];
    }
    if (node.kind === 'map') {
      bad(node, k, 'expected a list, not a mapping');
      return [];
    }
    const out: Located<string>[] = [];
    node.items.forEach((item, i) => {
      if (item.kind !== 'scalar' || item.value === null) bad(item, `${k}.${i}`, 'expected a string');
      else out.push(located(String(item.value), item));
    });
    return out;
  };
  const argv = (k: string, node = get(k)): Located<string[]> | undefined => {
    if (!node) return undefined;
    if (node.kind === 'scalar') return { value: shellSplit(String(node.value)), pos: node.pos };
    if (node.kind === 'seq' && node.items.every((i) => i.kind === 'scalar'))
      return { value: node.items.map((i) => String((i as LScalar).value ?? '')), pos: node.pos };
    bad(node, k, 'expected a string or a list of strings');
    return undefined;
  };

  const svc: ComposeService = {
    name,
    pos,
    ports: [],
    expose: [],
    environment: [],
    envFiles: [],
    volumes: [],
    profiles: strList('profiles'),
    capAdd: strList('cap_add'),
    capDrop: strList('cap_drop'),
    securityOpt: strList('security_opt'),
    labels: new Map(),
    dependsOn: [],
    networks: [],
    secrets: [],
  };
  const image = str('image');
  if (image) svc.image = image;
  const build = get('build');
  if (build) svc.build = build.pos;
  const command = argv('command');
  if (command) svc.command = command;
  const entrypoint = argv('entrypoint');
  if (entrypoint) svc.entrypoint = entrypoint;
  const containerName = str('container_name');
  if (containerName) svc.containerName = containerName;
  const restart = str('restart');
  if (restart) svc.restart = restart;
  const user = str('user');
  if (user) svc.user = user;
  const privileged = bool('privileged');
  if (privileged) svc.privileged = privileged;
  const readOnly = bool('read_only');
  if (readOnly) svc.readOnly = readOnly;
  const networkMode = str('network_mode');
  if (networkMode) svc.networkMode = networkMode;
  const pid = str('pid');
  if (pid) svc.pid = pid;
  const ipc = str('ipc');
  if (ipc) svc.ipc = ipc;
  const memLimit = str('mem_limit');
  if (memLimit) svc.memLimit = memLimit;
  const pidsNode = get('pids_limit');
  if (pidsNode) {
    const n = pidsNode.kind === 'scalar' ? Number(pidsNode.value) : NaN;
    if (!Number.isInteger(n)) bad(pidsNode, 'pids_limit', 'expected a whole number');
    else svc.pidsLimit = located(n, pidsNode as LScalar);
  }

  // deploy: resources.limits.{memory,pids}, restart_policy.condition, replicas
  const deploy = get('deploy');
  if (deploy && deploy.kind !== 'map') bad(deploy, 'deploy', 'expected a mapping');
  else if (deploy) {
    const at = (node: LNode | undefined, ...keys: string[]): LNode | undefined => {
      let cur = node;
      for (const k of keys) cur = cur && cur.kind === 'map' ? cur.entries.get(k)?.value : undefined;
      return cur && !(cur.kind === 'scalar' && cur.value === null) ? cur : undefined;
    };
    const mem = at(deploy, 'resources', 'limits', 'memory');
    if (mem && !svc.memLimit) svc.memLimit = str('deploy.resources.limits.memory', mem)!;
    const pids = at(deploy, 'resources', 'limits', 'pids');
    if (pids && !svc.pidsLimit) {
      const n = pids.kind === 'scalar' ? Number(pids.value) : NaN;
      if (!Number.isInteger(n)) bad(pids, 'deploy.resources.limits.pids', 'expected a whole number');
      else svc.pidsLimit = located(n, pids as LScalar);
    }
    const cond = at(deploy, 'restart_policy', 'condition');
    if (cond) {
      const c = str('deploy.restart_policy.condition', cond);
      if (c) svc.deployRestart = c;
    }
    const replicas = at(deploy, 'replicas');
    if (replicas) {
      const n = replicas.kind === 'scalar' ? Number(replicas.value) : NaN;
      if (!Number.isInteger(n) || n < 0) bad(replicas, 'deploy.replicas', 'expected a whole number');
      else svc.replicas = located(n, replicas as LScalar);
    }
  }
  const scale = get('scale');
  if (scale && !svc.replicas) {
    const n = scale.kind === 'scalar' ? Number(scale.value) : NaN;
    if (!Number.isInteger(n) || n < 0) bad(scale, 'scale', 'expected a whole number');
    else svc.replicas = located(n, scale as LScalar);
  }

  // ports
  const ports = get('ports');
  if (ports && ports.kind !== 'seq') bad(ports, 'ports', 'expected a list of ports');
  else if (ports) {
    ports.items.forEach((item, i) => {
      const p = parsePort(item);
      if (typeof p === 'string') bad(item, `ports.${i}`, p);
      else svc.ports.push(...p);
    });
  }
  const expose = get('expose');
  if (expose && expose.kind !== 'seq') bad(expose, 'expose', 'expected a list of ports');
  else if (expose) {
    expose.items.forEach((item, i) => {
      const n = item.kind === 'scalar' ? parseInt(String(item.value), 10) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > 65535) bad(item, `expose.${i}`, 'expected a port number');
      else svc.expose.push(located(n, item as LScalar));
    });
  }

  // environment (mapping or KEY=VALUE list)
  const env = get('environment');
  if (env) {
    const km = keyed(env);
    if (!km) bad(env, 'environment', 'expected a mapping or a list of KEY=VALUE');
    else {
      for (const [key, { keyPos, value }] of km.entries) {
        if (value.kind !== 'scalar') {
          bad(value, `environment.${key}`, 'expected a string, number or boolean');
          continue;
        }
        const entry: EnvEntry = { key, pos: keyPos, source: 'environment' };
        if (value.value !== null) entry.value = String(value.value);
        if (value.via) entry.via = value.via;
        svc.environment.push(entry);
      }
    }
  }

  // env_file: a path, a list of paths, or a list of { path, required }
  const envFile = get('env_file');
  if (envFile) {
    const items = envFile.kind === 'seq' ? envFile.items : [envFile];
    items.forEach((item, i) => {
      let p: LNode | undefined = item;
      let required = true;
      if (item.kind === 'map') {
        p = item.entries.get('path')?.value;
        const r = item.entries.get('required')?.value;
        if (r && r.kind === 'scalar' && toBool(r.value) === false) required = false;
      }
      if (!p || p.kind !== 'scalar' || p.value === null) {
        bad(item, `env_file.${i}`, 'expected the path of an env file');
        return;
      }
      const rel = String(p.value);
      // Relative to the folder of the file that names it, as compose resolves it.
      const abs = resolve(dirOfShown(p.pos.file, ctx), rel);
      svc.envFiles.push(located(abs, p as LScalar));
      let parsed = envFileCache.get(abs);
      if (!parsed) {
        const text = (() => {
          try {
            return readSmallFile(abs, ctx.display(abs), { optional: !required });
          } catch (err) {
            if (err instanceof ComposeError) {
              problems.push({
                file: p.pos.file,
                ...lineCol(p.pos),
                path: path('env_file'),
                message: `env file ${ctx.display(abs)}: ${err.problems[0]?.message ?? err.message}`,
              });
              return undefined;
            }
            throw err;
          }
        })();
        if (text === undefined) return;
        parsed = parseDotEnv(text, abs, ctx.display(abs));
        envFileCache.set(abs, parsed);
      }
      for (const e of parsed.entries) {
        // `environment:` wins over env_file, as in compose.
        if (svc.environment.some((x) => x.key === e.key)) continue;
        svc.environment.push({ key: e.key, value: e.value, pos: e.pos, source: 'env_file' });
      }
    });
  }

  // volumes
  const volumes = get('volumes');
  if (volumes && volumes.kind !== 'seq') bad(volumes, 'volumes', 'expected a list of volumes');
  else if (volumes) {
    volumes.items.forEach((item, i) => {
      const v = parseVolume(item);
      if (typeof v === 'string') bad(item, `volumes.${i}`, v);
      else svc.volumes.push(v);
    });
  }

  // healthcheck
  const hc = get('healthcheck');
  if (hc && hc.kind !== 'map') bad(hc, 'healthcheck', 'expected a mapping');
  else if (hc) {
    const disableNode = hc.entries.get('disable')?.value;
    const disable = disableNode ? bool('healthcheck.disable', disableNode)?.value === true : false;
    const testNode = hc.entries.get('test')?.value;
    const test =
      testNode && !(testNode.kind === 'scalar' && testNode.value === null) ? argvOf(testNode) : undefined;
    if (testNode && test === null)
      bad(testNode, 'healthcheck.test', 'expected a string or a list of strings');
    const isNone = test?.value[0] === 'NONE';
    svc.healthcheck = { disable: disable || isNone, pos: hc.pos, ...(test ? { test } : {}) };
  }

  // labels (mapping or KEY=VALUE list)
  const labels = get('labels');
  if (labels) {
    const km = keyed(labels);
    if (!km) bad(labels, 'labels', 'expected a mapping or a list of KEY=VALUE');
    else
      for (const [k, { value }] of km.entries) {
        const l = located(
          value.kind === 'scalar' && value.value !== null ? String(value.value) : '',
          value as LScalar,
        );
        svc.labels.set(k, l);
      }
  }

  // depends_on (list or mapping with condition)
  const dep = get('depends_on');
  if (dep) {
    if (dep.kind === 'seq') {
      dep.items.forEach((item, i) => {
        if (item.kind !== 'scalar' || item.value === null)
          bad(item, `depends_on.${i}`, 'expected a service name');
        else svc.dependsOn.push({ service: String(item.value), condition: 'service_started', pos: item.pos });
      });
    } else if (dep.kind === 'map') {
      for (const [k, { keyPos, value }] of dep.entries) {
        const c = value.kind === 'map' ? value.entries.get('condition')?.value : undefined;
        svc.dependsOn.push({
          service: k,
          condition: c && c.kind === 'scalar' && c.value !== null ? String(c.value) : 'service_started',
          pos: keyPos,
        });
      }
    } else bad(dep, 'depends_on', 'expected a list or a mapping of services');
  }

  const nets = get('networks');
  if (nets) {
    const km = keyed(nets);
    if (!km) bad(nets, 'networks', 'expected a list or a mapping of networks');
    else for (const [k, { keyPos }] of km.entries) svc.networks.push({ value: k, pos: keyPos });
  }

  const secrets = get('secrets');
  if (secrets && secrets.kind === 'seq') {
    for (const item of secrets.items) {
      if (item.kind === 'scalar' && item.value !== null) svc.secrets.push(located(String(item.value), item));
      else if (item.kind === 'map') {
        const s = item.entries.get('source')?.value;
        if (s && s.kind === 'scalar') svc.secrets.push(located(String(s.value), s));
      }
    }
  } else if (secrets) bad(secrets, 'secrets', 'expected a list of secrets');

  if (get('extends'))
    ctx.warnings.push({
      file: m.entries.get('extends')!.keyPos.file,
      ...lineCol(m.entries.get('extends')!.keyPos),
      path: path('extends'),
      message: 'extends is not followed: only the keys written in this service are read',
    });
  return svc;
}

function dirOfShown(shown: string, ctx: BuildContext): string {
  const abs = ctx.files.find((f) => ctx.display(f) === shown);
  return abs ? dirname(abs) : ctx.dir;
}

function located<T>(value: T, node: { pos: Pos; via?: Pos }): Located<T> {
  return node.via ? { value, pos: node.pos, via: node.via } : { value, pos: node.pos };
}

function argvOf(node: LNode): Located<string[]> | null {
  if (node.kind === 'scalar') {
    const s = String(node.value);
    // A string test is run by the shell, as CMD-SHELL.
    return { value: s === 'NONE' ? ['NONE'] : ['CMD-SHELL', s], pos: node.pos };
  }
  if (node.kind === 'seq' && node.items.every((i) => i.kind === 'scalar'))
    return { value: node.items.map((i) => String((i as LScalar).value ?? '')), pos: node.pos };
  return null;
}

export function toBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') return undefined;
  const s = v.toLowerCase();
  if (['true', 'yes', 'y', 'on', '1'].includes(s)) return true;
  if (['false', 'no', 'n', 'off', '0'].includes(s)) return false;
  return undefined;
}

/** Splits a command string into words as a POSIX shell does for simple quoting. */
export function shellSplit(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

const PORT_SHORT =
  /^(?:(?:\[([0-9A-Fa-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})|([A-Za-z0-9.-]*)):)??(?:(\d+(?:-\d+)?)?:)?(\d+(?:-\d+)?)(?:\/(tcp|udp|sctp))?$/;

/** A `ports:` item, short ("127.0.0.1:8080:80/tcp") or long ({ target, published, host_ip }). */
export function parsePort(item: LNode): ComposePort[] | string {
  if (item.kind === 'scalar' && item.value !== null) {
    const text = String(item.value);
    const m = PORT_SHORT.exec(text);
    if (!m) return `expected a port such as "8080:80", "127.0.0.1:8080:80" or "80", got "${text}"`;
    const hostIp = m[1] ?? m[2] ?? (m[3] ? m[3] : undefined);
    const published = m[4];
    const target = parseInt(m[5]!, 10);
    if (target < 1 || target > 65535) return `expected a container port from 1 to 65535, got "${text}"`;
    const port: ComposePort = { target, protocol: m[6] ?? 'tcp', text, pos: item.pos };
    // "HOST_IP::80" publishes a random host port on that address.
    if (published !== undefined) port.published = published;
    else if (hostIp !== undefined) port.published = '';
    if (hostIp !== undefined && hostIp !== '') port.hostIp = hostIp;
    return [port];
  }
  if (item.kind === 'map') {
    const get = (k: string) => {
      const v = item.entries.get(k)?.value;
      return v && v.kind === 'scalar' && v.value !== null ? String(v.value) : undefined;
    };
    const t = get('target');
    const target = t === undefined ? NaN : parseInt(t, 10);
    if (!Number.isInteger(target) || target < 1 || target > 65535)
      return 'expected "target": the container port, from 1 to 65535';
    const port: ComposePort = {
      target,
      protocol: get('protocol') ?? 'tcp',
      text: `${get('host_ip') ? `${get('host_ip')}:` : ''}${get('published') ?? ''}:${target}`,
      pos: item.pos,
    };
    const published = get('published');
    const hostIp = get('host_ip');
    if (published !== undefined) port.published = published;
    if (hostIp !== undefined) port.hostIp = hostIp;
    return [port];
  }
  return 'expected a port as a string ("8080:80") or a mapping ({ target, published, host_ip })';
}

/** A `volumes:` item, short ("./data:/data:ro") or long ({ type, source, target, read_only }). */
export function parseVolume(item: LNode): ComposeVolume | string {
  if (item.kind === 'scalar' && item.value !== null) {
    const text = String(item.value);
    const { source, target, mode } = splitVolume(text);
    if (!target) return `expected a volume such as "./data:/data" or "name:/data", got "${text}"`;
    const isBind =
      source !== undefined && (source.startsWith('/') || source.startsWith('.') || source.startsWith('~'));
    const v: ComposeVolume = {
      type: source === undefined ? 'volume' : isBind ? 'bind' : 'volume',
      target,
      readOnly: (mode ?? '').split(',').includes('ro'),
      text,
      pos: item.pos,
    };
    if (source !== undefined) v.source = source;
    return v;
  }
  if (item.kind === 'map') {
    const get = (k: string) => {
      const v = item.entries.get(k)?.value;
      return v && v.kind === 'scalar' && v.value !== null ? v.value : undefined;
    };
    const type = String(get('type') ?? 'volume');
    const target = get('target');
    if (target === undefined) return 'expected "target": the path inside the container';
    if (!['bind', 'volume', 'tmpfs', 'npipe', 'image', 'cluster'].includes(type))
      return `expected type bind, volume, tmpfs, npipe, image or cluster, got "${type}"`;
    const v: ComposeVolume = {
      type: type as ComposeVolume['type'],
      target: String(target),
      readOnly: toBool(get('read_only')) === true,
      text: `${get('source') ?? ''}:${String(target)}`,
      pos: item.pos,
    };
    const source = get('source');
    if (source !== undefined) v.source = String(source);
    return v;
  }
  return 'expected a volume as a string ("./data:/data:ro") or a mapping ({ type, source, target })';
}
