#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger, type Logger } from '../internal/log.js';
import { ConfigError, defaultConfig, keyPosition, loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Finding } from '../audit/index.js';
import { packageVersion } from './version.js';

// Each command imports only what it runs: `watchpost exporter` never loads the notifier's
// mail and Slack clients, `watchpost notifier` never loads Docker's client, and neither
// loads init's compose renderer or check's audit rules (docs/architecture.md, "Footprint").

/** Exit codes: 0 ok, 1 runtime failure, 2 usage or config error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const USAGE = `Usage: watchpost <command> [options]

Monitoring and alerting for a self-hosted Docker Compose application.

Commands:
  start      Run this package's services on this host (the exporter and the notifier)
  exporter   Run the Prometheus exporter
  notifier   Run the notifier: Alertmanager's webhook receiver, relaying to Slack and email
  init       Read the app's compose file(s) and write the monitoring overlay beside them:
             docker-compose.monitoring.yml and watchpost/ (config, secrets, provisioning)
  check      Validate a config file and print every problem (--config); with promtool and
             amtool on the PATH, also the Prometheus and Alertmanager files beside it;
             audit the app's compose files for unsafe settings (--compose, repeatable);
             exit 1 if any finding is an error
  targets add HOST:PORT --site SITE [--host NAME] | targets remove HOST:PORT | targets list
             Edit the file_sd targets of a central Prometheus that scrapes exporters on
             other hosts (--file, default watchpost/targets/exporters.json; docs/scaling.md)
  write-proxy
             The door of a central Prometheus's remote-write receiver: only POST
             /api/v1/write with the push token, forwarded to --upstream URL (--listen,
             default 0.0.0.0:9852; --push-token-file FILE; --tls-cert and --tls-key
             FILE serve HTTPS; docs/scaling.md)
  docker-proxy
             A read-only proxy of the Docker socket for the exporter: only the GET endpoints
             the collectors use (--listen, default 0.0.0.0:2375; --socket PATH)
  notify-test
             Send a test notification through each notifier channel (or --channel NAME)
             and print one line per channel; exit 1 if any failed
  help       Show this help

Options:
  -c, --config FILE     Config file (default: $WATCHPOST_CONFIG, else the built-in
                        default that monitors this host)
  -l, --listen ADDR     Listen address host:port of the exporter (exporter, start) or
                        of the notifier (notifier); overrides the config
      --notifier-listen ADDR
                        Listen address of the notifier under start; overrides the config
      --channel NAME    Only this notifier channel (notify-test)
      --compose FILE    The app's compose file: audited by check, read by init; repeat to
                        merge several as compose does (init's default: compose.yaml,
                        compose.yml, docker-compose.yml, docker-compose.yaml)
      --format FORMAT   text (default) or json (check)
      --socket PATH     The Docker socket (docker-proxy; default /var/run/docker.sock)
      --dir DIR         Where init writes (default: the folder of the first compose file;
                        with --role central, the current folder)
      --role ROLE       init: agent (a site: exporter and vmagent pushing to the central
                        host), central (the central host), or none for one host
      --central-url URL init --role agent: the central write proxy, e.g.
                        https://central.example.com:9852/api/v1/write
      --central-ca FILE init --role agent: the CA that signed the central's certificate
                        (default: the system's CAs)
      --push-token-file FILE
                        init --role agent: the central's watchpost/secrets/push_token, copied;
                        write-proxy: the token it requires
      --upstream URL    write-proxy: the Prometheus it forwards to
      --tls-cert FILE, --tls-key FILE
                        write-proxy: serve HTTPS with this certificate chain and key
      --site NAME       The site of a target (targets add) or of an agent (init --role agent)
      --host NAME       The host name of a target (targets add; default: the address's
                        host) or of an agent (init --role agent; default: this host's name)
      --file FILE       The file_sd targets file (targets)
      --force           init replaces files you edited (it prints what changes)
  -h, --help            Show help
  -v, --version         Show the version

Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
Docs: docs/configuration.md (config), docs/metrics.md (metrics), docs/notifier.md,
docs/check.md (every audit rule).
`;

class UsageError extends Error {}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Colour the output (stdout is a terminal and NO_COLOR is unset). */
  colour?: boolean;
  /** The working directory (init, check); process.cwd() when not set. */
  cwd?: string;
}

const defaultIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  colour: process.stdout.isTTY === true && !process.env.NO_COLOR,
};

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        listen: { type: 'string', short: 'l' },
        'notifier-listen': { type: 'string' },
        channel: { type: 'string' },
        compose: { type: 'string', multiple: true },
        format: { type: 'string' },
        dir: { type: 'string' },
        socket: { type: 'string' },
        force: { type: 'boolean' },
        site: { type: 'string' },
        host: { type: 'string' },
        file: { type: 'string' },
        role: { type: 'string' },
        'central-url': { type: 'string' },
        'central-ca': { type: 'string' },
        'push-token-file': { type: 'string' },
        upstream: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function loadConfig(
  file: string | undefined,
  io: Io,
  secretsOf?: 'exporter' | 'notifier',
): { config: Config; source: string; warnings: string[] } {
  const path = file ?? io.env.WATCHPOST_CONFIG;
  const warnings: string[] = [];
  if (path)
    return {
      config: loadConfigFile(path, io.env, {
        secretsOf,
        warn: (w) => warnings.push(w),
        ...secretsGroupOf(io.env),
      }),
      source: path,
      warnings,
    };
  return { config: defaultConfig(), source: 'built-in default', warnings };
}

/**
 * The overlay's secrets group (WATCHPOST_SECRETS_GID, set by docker-compose.monitoring.yml):
 * secret files readable by it are shared on purpose and get no warning.
 */
function secretsGroupOf(env: Io['env']): { secretsGroup?: number } {
  const text = env.WATCHPOST_SECRETS_GID;
  if (text === undefined || !/^\d{1,10}$/.test(text.trim())) return {};
  return { secretsGroup: Number(text.trim()) };
}

/** Settings valid in themselves that cannot work on this host are config errors too. */
async function assertHostFits(config: Config, file: string): Promise<void> {
  const { hostProblems } = await import('../exporter/collectors/index.js');
  const problems = hostProblems(config);
  if (problems.length === 0) return;
  throw new ConfigError(
    problems.map((p) => ({ file, ...keyPosition(file, p.path), path: p.path.join('.'), message: p.message })),
  );
}

/** Runs the CLI. Resolves to the exit code for one-shot commands; long-running ones resolve when stopped. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  try {
    const { values, positionals } = parse(argv);
    if (values.version) {
      io.out(`watchpost ${packageVersion()}\n`);
      return EXIT_OK;
    }
    const [command, ...rest] = positionals;
    if (values.help || command === undefined || command === 'help') {
      io.out(USAGE);
      return command === undefined && !values.help ? EXIT_USAGE : EXIT_OK;
    }
    if (command === 'targets') return await runTargets(rest, values, io);
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);

    switch (command) {
      case 'init': {
        const role = values.role ?? 'single';
        if (role !== 'single' && role !== 'agent' && role !== 'central')
          throw new UsageError(`unknown --role "${role}": expected agent or central`);
        const agentOnly = {
          'central-url': values['central-url'],
          'central-ca': values['central-ca'],
          'push-token-file': values['push-token-file'],
          site: values.site,
          host: values.host,
        };
        for (const [name, v] of Object.entries(agentOnly))
          if (role !== 'agent' && v !== undefined)
            throw new UsageError(`--${name} is an option of init --role agent`);
        if (role === 'central' && values.compose)
          throw new UsageError(
            'init --role central reads no compose file: the central overlay is a project of its own',
          );
        if (role === 'agent') {
          if (!values['central-url'])
            throw new UsageError('init --role agent needs --central-url URL (the central write proxy)');
          if (!values.site) throw new UsageError('init --role agent needs --site NAME');
        }
        const { formatInitResult, runInit } = await import('../bootstrap/init.js');
        const result = await runInit({
          composeFiles: values.compose ?? [],
          dir: values.dir,
          force: values.force ?? false,
          cwd: io.cwd ?? process.cwd(),
          env: io.env,
          out: io.out,
          ...(role === 'agent'
            ? {
                role: 'agent' as const,
                agent: {
                  centralUrl: values['central-url']!,
                  site: values.site!,
                  ...(values.host !== undefined ? { host: values.host } : {}),
                  ...(values['central-ca'] !== undefined ? { centralCaFile: values['central-ca'] } : {}),
                  ...(values['push-token-file'] !== undefined
                    ? { pushTokenFile: values['push-token-file'] }
                    : {}),
                },
              }
            : { role }),
        });
        io.out(formatInitResult(result, { grafanaPort: io.env.GRAFANA_PORT }));
        return EXIT_OK;
      }
      case 'check': {
        const format = values.format ?? 'text';
        if (format !== 'text' && format !== 'json')
          throw new UsageError(`unknown --format "${format}": expected text or json`);
        const composeFiles = values.compose ?? [];
        const path = values.config ?? (composeFiles.length === 0 ? io.env.WATCHPOST_CONFIG : undefined);
        if (!path && composeFiles.length === 0)
          throw new UsageError(
            'check needs a config file, compose files, or both: watchpost check [--config FILE] [--compose FILE]...',
          );
        const cwd = io.cwd ?? process.cwd();
        const { auditCompose, checkInstallationFiles, composeSecrets, formatJson, formatText, toolFindings } =
          await import('../audit/check.js');
        const text = format === 'text';
        const findings: Finding[] = [];
        if (path) {
          // watchpost/secrets/ is 0640 for the overlay's secrets group by design (docs/deploy.md):
          // the loader gives no warning for a file of that group, and warns for any other.
          const secrets = await composeSecrets(path, composeFiles, cwd, io.env);
          const secretsGroup = secretsGroupOf(io.env).secretsGroup ?? secrets.secretsGroup;
          const config = loadConfigFile(path, io.env, {
            warn: (w) => io.err(`warning: ${w}\n`),
            secretPath: secrets.secretPath,
            ...(secretsGroup !== undefined ? { secretsGroup } : {}),
          });
          await assertHostFits(config, path);
          if (text) {
            const { planCollectors } = await import('../exporter/collectors/index.js');
            const notifier = config.notifier;
            const plan = planCollectors(config);
            const started = plan.filter((c) => c.start).map((c) => c.name);
            io.out(`${path}: OK (collectors: ${started.join(', ') || 'none'})\n`);
            for (const c of plan.filter((p) => !p.start)) io.out(`  ${c.name}: not started (${c.reason})\n`);
            io.out(
              `  notifier: channels ${notifier.channels.map((c) => `${c.name} (${c.type})`).join(', ')}\n`,
            );
          }
          const tools = checkInstallationFiles(path, io.env, cwd);
          if (text)
            for (const t of tools)
              io.out(
                `  ${t.tool} ${t.file}: ${t.status === 'failed' ? `FAILED\n${indent(t.detail)}` : t.detail}\n`,
              );
          findings.push(...toolFindings(tools).filter((f) => !text || f.severity === 'error'));
        }
        if (composeFiles.length > 0) {
          const result = await auditCompose(composeFiles, cwd, io.env);
          for (const w of result.warnings) io.err(`warning: ${w}\n`);
          findings.push(...result.findings);
          if (text)
            io.out(
              `${path ? '\n' : ''}${formatText(result.findings, { colour: io.colour === true, title: result.title })}`,
            );
        }
        if (!text) io.out(formatJson(findings));
        return findings.some((f) => f.severity === 'error') ? EXIT_FAILURE : EXIT_OK;
      }
      case 'write-proxy': {
        if (!values.upstream)
          throw new UsageError('write-proxy needs --upstream URL (the Prometheus it forwards to)');
        const tokenFile = values['push-token-file'];
        if (!tokenFile)
          throw new UsageError('write-proxy needs --push-token-file FILE (the token agents send)');
        if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined))
          throw new UsageError('write-proxy needs both --tls-cert and --tls-key, or neither');
        const { startWriteProxy } = await import('../exporter/write-proxy.js');
        const log = createLogger({ level: 'info' });
        const proxy = await startWriteProxy({
          listen: values.listen ?? '0.0.0.0:9852',
          upstream: values.upstream,
          tokenFile,
          ...(values['tls-cert']
            ? { tls: { certFile: values['tls-cert'], keyFile: values['tls-key']! } }
            : {}),
          ...(secretsGroupOf(io.env).secretsGroup !== undefined
            ? { secretsGroup: secretsGroupOf(io.env).secretsGroup }
            : {}),
          log,
        });
        return await runUntilSignal([proxy], log);
      }
      case 'docker-proxy': {
        const { startDockerProxy } = await import('../exporter/docker-proxy.js');
        const log = createLogger({ level: 'info' });
        const proxy = await startDockerProxy({
          listen: values.listen ?? '0.0.0.0:2375',
          socketPath: values.socket ?? '/var/run/docker.sock',
          log,
        });
        return await runUntilSignal([proxy], log);
      }
      case 'notify-test': {
        const { config } = loadConfig(values.config, io, 'notifier');
        const known = config.notifier.channels.map((c) => c.name);
        const only = values.channel;
        if (only !== undefined && !known.includes(only))
          throw new UsageError(`unknown channel "${only}"; configured channels: ${known.join(', ')}`);
        // The log channel (and any warning) goes to stderr; stdout is one line per channel.
        const log = createLogger({ level: config.notifier.log_level });
        const { notifyTest } = await import('../notifier/notify-test.js');
        const lines = await notifyTest(config.notifier, log, only !== undefined ? { channels: [only] } : {});
        for (const l of lines) io.out(`${l.line}\n`);
        return lines.every((l) => l.ok) ? EXIT_OK : EXIT_FAILURE;
      }
      case 'exporter':
      case 'start': {
        // The exporter's container mounts only the exporter's secrets: the notifier's stay unread.
        const { config, source, warnings } = loadConfig(
          values.config,
          io,
          command === 'exporter' ? 'exporter' : undefined,
        );
        await assertHostFits(config, source);
        const notifierConfig = command === 'start' ? config.notifier : undefined;
        const log = createLogger({ level: config.exporter.log_level });
        log.info('starting watchpost', { version: packageVersion(), command, config: source });
        for (const w of warnings) log.warn('unsafe config', { warning: w });
        const { startExporter } = await import('../exporter/run.js');
        const exporter = await startExporter({
          config,
          log,
          version: packageVersion(),
          listen: values.listen,
        });
        const services: Service[] = [exporter];
        if (notifierConfig) {
          try {
            const { startNotifier } = await import('../notifier/run.js');
            services.push(
              await startNotifier({
                config: notifierConfig,
                log: createLogger({ level: notifierConfig.log_level, base: { component: 'notifier' } }),
                listen: values['notifier-listen'],
              }),
            );
          } catch (err) {
            await exporter.close();
            throw err;
          }
        }
        return await runUntilSignal(services, log);
      }
      case 'notifier': {
        const { config, source, warnings } = loadConfig(values.config, io, 'notifier');
        const log = createLogger({ level: config.notifier.log_level });
        log.info('starting watchpost', { version: packageVersion(), command, config: source });
        for (const w of warnings) log.warn('unsafe config', { warning: w });
        const { startNotifier } = await import('../notifier/run.js');
        const notifier = await startNotifier({ config: config.notifier, log, listen: values.listen });
        return await runUntilSignal([notifier], log);
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`watchpost: ${err.message}\nRun "watchpost --help" for usage.\n`);
      return EXIT_USAGE;
    }
    if (err instanceof Error && err.name === 'TargetsError') {
      io.err(`watchpost: ${err.message}\n`);
      return EXIT_USAGE;
    }
    // Only init and check read compose files: the class is loaded by then when it can be thrown.
    if (err instanceof Error && err.name === 'ComposeError') {
      io.err(`watchpost: cannot read the compose files:\n${err.message}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof ConfigError) {
      // In the overlay, a missing config or secret file means the installation was never generated.
      const hint = err.problems.some((p) => p.message.includes('does not exist'))
        ? 'Create the missing files with "watchpost init" in the folder of your compose file (docs/deploy.md).\n'
        : '';
      io.err(`watchpost: invalid config:\n${err.message}\n${hint}`);
      return EXIT_USAGE;
    }
    io.err(`watchpost: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
}

async function runTargets(
  args: string[],
  values: { site?: string; host?: string; file?: string },
  io: Io,
): Promise<number> {
  const { addTarget, checkAddress, DEFAULT_TARGETS_FILE, formatTargets, readTargets, removeTarget } =
    await import('../bootstrap/targets.js');
  const [action, address, ...extra] = args;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const file = resolve(io.cwd ?? process.cwd(), values.file ?? DEFAULT_TARGETS_FILE);
  switch (action) {
    case 'list':
      if (address !== undefined) throw new UsageError(`unexpected argument "${address}"`);
      io.out(formatTargets(readTargets(file)));
      return EXIT_OK;
    case 'add': {
      if (!address || !values.site)
        throw new UsageError(
          'usage: watchpost targets add HOST:PORT --site SITE [--host NAME] [--file FILE]',
        );
      checkAddress(address);
      const host = values.host ?? address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
      const result = addTarget(file, { address, site: values.site, host });
      io.out(`${result} ${address} (site ${values.site}, host ${host}) in ${file}\n`);
      return EXIT_OK;
    }
    case 'remove':
      if (!address) throw new UsageError('usage: watchpost targets remove HOST:PORT [--file FILE]');
      if (!removeTarget(file, address)) {
        io.err(`watchpost: ${address} is not in ${file}\n`);
        return EXIT_FAILURE;
      }
      io.out(`removed ${address} from ${file}\n`);
      return EXIT_OK;
    default:
      throw new UsageError('usage: watchpost targets add|remove|list (see watchpost --help)');
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

interface Service {
  close(): Promise<void>;
}

/** Waits for SIGTERM/SIGINT, then stops every service gracefully. */
function runUntilSignal(services: Service[], log: Logger): Promise<number> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info('shutting down', { signal });
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      Promise.all(services.map((s) => s.close())).then(
        () => resolve(EXIT_OK),
        (err: unknown) => {
          log.error('shutdown failed', { err });
          resolve(EXIT_FAILURE);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

// Run when executed (through the npm bin link or `node dist/cli/main.js`), not when imported by tests.
function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`watchpost: ${(err as Error).message}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}
