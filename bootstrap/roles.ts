/**
 * What `watchpost init --role agent|central` writes besides the overlay (docs/scaling.md,
 * "Sites pushing"): the agent's scrape config (vmagent -promscrape.config), and the central
 * host's watchpost.yml and Grafana datasource.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkLabel } from './targets.js';

export interface AgentOptions {
  /** The central write proxy's remote-write URL (https://central.example.com:9852/api/v1/write). */
  centralUrl: string;
  site: string;
  /** Default: this host's name. */
  host?: string;
  /** A CA file (PEM) that signed the central's certificate; copied into the agent's folder. */
  centralCaFile?: string;
  /** The central's push token, copied into watchpost/secrets/push_token. */
  pushTokenFile?: string;
}

/** The site's agent folder (watchpost/agent) is mounted here in the vmagent container. */
export const AGENT_CONFIG_DIR = '/etc/vmagent';
/** The scrape config init writes in the agent folder. */
export const AGENT_SCRAPE_FILE = 'scrape.yml';
/** The central's CA, copied from --central-ca into the agent folder. */
export const AGENT_CA_FILE = 'central-ca.pem';

export class RoleError extends Error {
  override name = 'RoleError';
}

/** Checks the agent's options; a bad one is an error naming the option. */
export function checkAgentOptions(o: AgentOptions & { host: string }): void {
  let url: URL;
  try {
    url = new URL(o.centralUrl);
  } catch {
    throw new RoleError(
      `--central-url "${o.centralUrl}" is not a URL, such as https://central.example.com:9852/api/v1/write`,
    );
  }
  if (url.protocol !== 'https:')
    throw new RoleError(
      `--central-url "${o.centralUrl}": expected an https:// URL (the push token never crosses the network in clear)`,
    );
  if (url.username || url.password)
    throw new RoleError(
      '--central-url must not carry credentials: the push token comes from --push-token-file',
    );
  try {
    checkLabel('site', o.site);
    checkLabel('host', o.host);
  } catch (err) {
    throw new RoleError((err as Error).message);
  }
}

const quote = (v: string) => `'${v.replaceAll("'", "''")}'`;

/**
 * The agent's scrape config (provisioning/agent/scrape.yml with the site's values). Where it
 * pushes is not in it: vmagent takes the remote-write URL, token and CA as flags (overlay.ts).
 */
export function renderAgentConfig(root: string, o: { site: string; host: string }): string {
  const text = readFileSync(join(root, 'provisioning', 'agent', AGENT_SCRAPE_FILE), 'utf8');
  return text
    .replace(/ ?`watchpost init` fills in the values\n# written @LIKE_THIS@\./, '')
    .replace("'@SITE@'", quote(o.site))
    .replace("'@HOST@'", quote(o.host));
}

/** The central host's watchpost.yml: the notifier's settings (no exporter runs there). */
export function centralWatchpostConfig(deployment: string): string {
  return [
    '# watchpost on the central host (`watchpost init --role central`, docs/scaling.md): the notifier',
    "# that Alertmanager posts to. The sites' exporters have their own watchpost.yml.",
    deployment,
  ].join('\n');
}

/** Grafana's datasource on the central host: VictoriaMetrics, through its Prometheus-compatible API. */
export function centralDatasource(root: string): string {
  return readFileSync(join(root, 'provisioning', 'central', 'grafana-datasource.yml'), 'utf8');
}
