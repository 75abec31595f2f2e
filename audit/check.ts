import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { readCompose, formatComposeProblem } from '../bootstrap/compose.js';
import { formatJson, formatText } from './format.js';
import { audit, type Finding } from './index.js';

/**
 * `watchpost check`: the checks of an installation that go beyond watchpost.yml itself
 * (which the CLI validates with the config loader first).
 *  - the Prometheus and Alertmanager files of the installation, when found beside the
 *    config (prometheus/prometheus.yml, prometheus/rules/*.yml, alertmanager/alertmanager.yml),
 *    by promtool and amtool when they are on the PATH;
 *  - the audit of the app's compose files (`--compose`).
 * Tool problems and audit findings come out as one list of findings.
 */

export interface ToolCheck {
  tool: string;
  file: string;
  /** 'ok', 'failed' (with output), or 'skipped' (with the reason). */
  status: 'ok' | 'failed' | 'skipped';
  detail: string;
}

const TOOL_TIMEOUT_MS = 60_000;

/** Where a program is on the PATH, or undefined. */
export function which(name: string, env: Record<string, string | undefined>): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const full = join(dir, name);
    if (existsSync(full)) return full;
  }
  return undefined;
}

/**
 * Runs promtool and amtool on the installation's files beside `configPath`. `prometheus.yml`
 * is checked with --syntax-only: the files it refers to (rules, the token) are paths inside
 * the Prometheus container, checked there at start; the rules are checked from the host copy.
 */
export function checkInstallationFiles(
  configPath: string,
  env: Record<string, string | undefined>,
  cwd: string,
): ToolCheck[] {
  const base = dirname(configPath);
  const show = (p: string) => relative(cwd, p) || p;
  const out: ToolCheck[] = [];
  const promConfig = join(base, 'prometheus', 'prometheus.yml');
  const rulesDir = join(base, 'prometheus', 'rules');
  const amConfig = join(base, 'alertmanager', 'alertmanager.yml');
  const rules = existsSync(rulesDir)
    ? readdirSync(rulesDir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => join(rulesDir, f))
    : [];
  const run = (tool: string, args: string[], file: string, found: boolean, what: string) => {
    if (!found) {
      out.push({
        tool,
        file: show(file),
        status: 'skipped',
        detail: `skipped: no ${what} beside the config`,
      });
      return;
    }
    const bin = which(tool, env);
    if (!bin) {
      out.push({
        tool,
        file: show(file),
        status: 'skipped',
        detail: `skipped: ${tool} not found (scripts/install-system-deps.sh installs it)`,
      });
      return;
    }
    const r = spawnSync(bin, args, {
      encoding: 'utf8',
      timeout: TOOL_TIMEOUT_MS,
      env: { PATH: env.PATH ?? '' },
    });
    const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    if (r.status === 0) out.push({ tool, file: show(file), status: 'ok', detail: 'OK' });
    else
      out.push({
        tool,
        file: show(file),
        status: 'failed',
        detail: r.error
          ? `${tool} could not run: ${r.error.message}`
          : text || `${tool} exited with ${r.status}`,
      });
  };
  run(
    'promtool',
    ['check', 'config', '--syntax-only', promConfig],
    promConfig,
    existsSync(promConfig),
    'prometheus/prometheus.yml',
  );
  run('promtool', ['check', 'rules', ...rules], rulesDir, rules.length > 0, 'prometheus/rules/*.yml');
  run('amtool', ['check-config', amConfig], amConfig, existsSync(amConfig), 'alertmanager/alertmanager.yml');
  return out;
}

/** A failed tool check as a finding, on the line the tool names when it names one. */
export function toolFindings(checks: ToolCheck[]): Finding[] {
  return checks
    .filter((c) => c.status !== 'ok')
    .map((c) => {
      const line = /\bline (\d+)/.exec(c.detail)?.[1];
      return {
        severity: c.status === 'failed' ? ('error' as const) : ('info' as const),
        rule: c.status === 'failed' ? `${c.tool}-check` : 'check-skipped',
        file: c.file,
        line: line ? Number(line) : 1,
        service: null,
        message:
          c.status === 'failed'
            ? `${c.tool} rejects ${c.file}: ${c.detail.split('\n').filter(Boolean).slice(-3).join(' ')}`
            : `${c.tool} on ${c.file} ${c.detail}`,
      };
    });
}

/**
 * watchpost.yml names its secrets where the containers see them (/run/secrets/NAME, compose
 * file secrets). Checked on the host, each such path is mapped to the file the compose
 * files declare for secret NAME: the overlay beside the installation folder
 * (docker-compose.monitoring.yml next to watchpost/), and the --compose files.
 */
/**
 * What the compose files (and the overlay next to the config) say about secrets: where each
 * `/run/secrets/<name>` comes from on the host, and the overlay's secrets group
 * (WATCHPOST_SECRETS_GID in a service's environment, after interpolation), which may read
 * the 0640 files under watchpost/secrets/ on purpose.
 */
export async function composeSecrets(
  configPath: string,
  composeFiles: string[],
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<{ secretPath: (path: string) => string; secretsGroup?: number }> {
  const map = new Map<string, string>();
  let secretsGroup: number | undefined;
  const overlay = resolve(cwd, dirname(configPath), '..', 'docker-compose.monitoring.yml');
  const sources = [...composeFiles.map((f) => resolve(cwd, f)), ...(existsSync(overlay) ? [overlay] : [])];
  for (const file of new Set(sources)) {
    try {
      const project = await readCompose({ files: [file], cwd: dirname(file), env });
      for (const s of project.secretFiles) map.set(`/run/secrets/${s.name}`, s.file);
      for (const svc of project.services)
        for (const e of svc.environment)
          if (e.key === 'WATCHPOST_SECRETS_GID' && e.value !== undefined && /^\d{1,10}$/.test(e.value.trim()))
            secretsGroup ??= Number(e.value.trim());
    } catch {
      // An unreadable compose file is reported by the audit itself; here it only maps nothing.
    }
  }
  return {
    secretPath: (path) => map.get(path) ?? path,
    ...(secretsGroup !== undefined ? { secretsGroup } : {}),
  };
}

export interface ComposeAudit {
  title: string;
  findings: Finding[];
  warnings: string[];
}

/** Reads the compose files (throws ComposeError on bad input) and audits them. */
export async function auditCompose(
  files: string[],
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<ComposeAudit> {
  const project = await readCompose({ files, cwd, env });
  return {
    title: `compose project "${project.name}" (${project.files.map((f) => relative(cwd, f) || f).join(', ')})`,
    findings: audit(project),
    warnings: project.warnings.map(formatComposeProblem),
  };
}

export { formatJson, formatText };
