/**
 * Renders docker-compose.monitoring.yml, the overlay an app's own compose file is merged with:
 *   docker compose -f docker-compose.yml -f docker-compose.monitoring.yml up -d
 * Merged into the app's project, relative paths resolve against the app's folder and the
 * exporter joins the app's networks by name. The repository's own docker-compose.monitoring.yml
 * is this renderer's output with DEFAULT_OVERLAY_OPTIONS (a test keeps them equal), and
 * `watchpost init` writes it adapted to one app. Every hardening choice is explained in
 * docs/deploy.md.
 */

/** The secret files the overlay can mount, as compose secrets `watchpost_<name>`. */
export const SECRET_FILES = {
  metrics_token: 'The exporter requires it on /metrics; Prometheus sends it.',
  notifier_token:
    'The notifier requires it on its webhook and /metrics; Alertmanager and Prometheus send it.',
  grafana_admin_password: "Grafana's admin password.",
  slack_webhook_url: 'The Slack incoming-webhook URL the notifier posts to (optional).',
  smtp_password: 'The SMTP password the notifier sends email with (optional).',
} as const;
export type SecretName = keyof typeof SECRET_FILES;
/** Secrets init generates; the others exist only once the user adds them. */
export const GENERATED_SECRETS: SecretName[] = ['metrics_token', 'notifier_token', 'grafana_admin_password'];

/** The watchpost image's fixed user (Dockerfile `USER`). */
export const WATCHPOST_UID = 10001;
/** Prometheus and Alertmanager images run as nobody. */
export const NOBODY_UID = 65534;
/** Grafana's image runs as 472 (group 0). */
export const GRAFANA_UID = 472;

/** Where the configs of watchpost.yml point inside the containers (init sets them). */
export const CONTAINER_PATHS = {
  config: '/etc/watchpost/watchpost.yml',
  stateDir: '/var/lib/watchpost',
  rootfs: '/host',
  procfs: '/host/proc',
  sysfs: '/host/sys',
  secret: (name: SecretName) => `/run/secrets/watchpost_${name}`,
  exporterListen: '0.0.0.0:9850',
  notifierListen: '0.0.0.0:9851',
} as const;

export interface OverlayOptions {
  /** The app's compose project, named in the header comment only (the overlay joins the app's project). */
  project?: string;
  /** The app's compose files, for the header's `up` command. */
  composeFiles: string[];
  /** The app's networks the exporter joins (compose keys, e.g. "default" or "backend"). */
  appNetworks: string[];
  /** Group that owns the secret files (mode 0640); every service reading a secret gets it by group_add. */
  secretsGid: number;
  /** Group of the Docker socket on the host; the exporter gets it by group_add. */
  dockerGid: number;
  /** Optional secrets that exist (the generated ones are always mounted). */
  optionalSecrets: SecretName[];
  /** The installation folder, relative to the app's folder. */
  dir: string;
  /** The watchpost version whose image is the default. */
  version: string;
  /** The overlay's path from the app's folder, for the header's `up` command. */
  overlayFile?: string;
  /** A watchpost source folder (with the Dockerfile), relative to the app's folder: compose builds the image from it when it is missing. */
  buildContext?: string;
}

export const DEFAULT_OVERLAY_OPTIONS: OverlayOptions = {
  composeFiles: ['docker-compose.yml'],
  appNetworks: ['default'],
  secretsGid: WATCHPOST_UID,
  dockerGid: 999,
  optionalSecrets: [],
  dir: './watchpost',
  version: '0.1.0',
};

/** Pinned defaults; each is overridable by the variable named beside it. */
export const PINNED_IMAGES = {
  PROMETHEUS_IMAGE: 'prom/prometheus:v2.53.2',
  ALERTMANAGER_IMAGE: 'prom/alertmanager:v0.27.0',
  GRAFANA_IMAGE: 'grafana/grafana-oss:11.2.0',
} as const;

/** The overlay's text. */
export function renderOverlay(opts: OverlayOptions): string {
  const d = opts.dir.replace(/\/+$/, '');
  const up = [
    'docker compose',
    ...opts.composeFiles.map((f) => `-f ${f}`),
    `-f ${opts.overlayFile ?? 'docker-compose.monitoring.yml'}`,
    'up -d',
  ].join(' ');
  const secretsGid = `"\${WATCHPOST_SECRETS_GID:-${opts.secretsGid}}"`;
  const dockerGid = `"\${WATCHPOST_DOCKER_GID:-${opts.dockerGid}}"`;
  const notifierSecrets = [
    'notifier_token',
    ...opts.optionalSecrets.filter((s) => s === 'slack_webhook_url' || s === 'smtp_password'),
  ];
  const allSecrets = [
    ...GENERATED_SECRETS,
    ...opts.optionalSecrets.filter((s) => !GENERATED_SECRETS.includes(s)),
  ];
  const list = (items: string[], indent: string) => items.map((i) => `${indent}- ${i}`).join('\n');
  const appNetworks = opts.appNetworks.map((n) => `      ${n}: {}`).join('\n');
  const appNetworkDecls = opts.appNetworks.filter((n) => n !== 'default');
  const build = (indent: string) =>
    opts.buildContext
      ? `\n${indent}# Built from the watchpost sources when the image is not there yet.\n${indent}build: ${JSON.stringify(opts.buildContext)}`
      : '';

  return `# watchpost monitoring overlay${opts.project ? ` for the compose project "${opts.project}"` : ''}.
# Start it together with the app, from the app's folder:
#   ${up}
# Generated by \`watchpost init\`, which also writes ${d}/ (config, secrets, provisioning).
# Why each setting is there: docs/deploy.md. Images are pinned; override them with
# WATCHPOST_IMAGE, PROMETHEUS_IMAGE, ALERTMANAGER_IMAGE, GRAFANA_IMAGE.
#
# Every service: a fixed non-root user, read-only root filesystem, no capabilities,
# no-new-privileges, pids and memory limits, a healthcheck, rotated logs, state on named
# volumes. Secrets are files (mode 0640, group ${opts.secretsGid}) mounted only into the
# services that read them; a service reads them through group_add, never as root.

x-watchpost-hardening: &hardening
  read_only: true
  cap_drop: [ALL]
  security_opt: ["no-new-privileges:true"]
  restart: unless-stopped
  logging:
    driver: json-file
    options: { max-size: "10m", max-file: "3" }

services:
  watchpost-exporter:
    <<: *hardening
    image: \${WATCHPOST_IMAGE:-watchpost:${opts.version}}${build('    ')}
    command: ["exporter"]
    user: "${WATCHPOST_UID}:${WATCHPOST_UID}"
    # The secrets group, and the Docker socket's group (read access to the socket).
    group_add: [${secretsGid}, ${dockerGid}]
    environment:
      WATCHPOST_CONFIG: ${CONTAINER_PATHS.config}
      # Secret files readable by this group (mode 0640) are shared on purpose: no warning.
      WATCHPOST_SECRETS_GID: ${secretsGid}
    volumes:
      - { type: bind, source: ${d}/watchpost.yml, target: ${CONTAINER_PATHS.config}, read_only: true }
      # The host's / (disk usage, its /proc for host metrics and FFmpeg processes, its /sys for
      # container CPU and memory), read-only, without joining the host's PID namespace. No
      # rslave propagation: it fails where / is not a shared mount (docs/deploy.md).
      - { type: bind, source: /, target: ${CONTAINER_PATHS.rootfs}, read_only: true }
      # Read-only here does not make the Docker API read-only: see docs/deploy.md.
      - { type: bind, source: /var/run/docker.sock, target: /var/run/docker.sock, read_only: true }
    tmpfs: ["/tmp:size=16m,mode=1777"]
    secrets: [watchpost_metrics_token]
    pids_limit: 128
    mem_limit: 256m
    healthcheck:
      test: ["CMD", "node", "dist/cli/healthcheck.js", "http://127.0.0.1:9850/-/healthy"]
      interval: 30s
      timeout: 10s
      retries: 3
      start_period: 20s
    networks:
      watchpost-monitoring: {}
      # The app's network(s): dependency probes and stream servers by service name.
${appNetworks}

  watchpost-notifier:
    <<: *hardening
    image: \${WATCHPOST_IMAGE:-watchpost:${opts.version}}${build('    ')}
    command: ["notifier"]
    user: "${WATCHPOST_UID}:${WATCHPOST_UID}"
    group_add: [${secretsGid}]
    environment:
      WATCHPOST_CONFIG: ${CONTAINER_PATHS.config}
      # Secret files readable by this group (mode 0640) are shared on purpose: no warning.
      WATCHPOST_SECRETS_GID: ${secretsGid}
    volumes:
      - { type: bind, source: ${d}/watchpost.yml, target: ${CONTAINER_PATHS.config}, read_only: true }
      # The durable outbox: what Alertmanager sent and Slack or SMTP has not taken yet.
      - watchpost-notifier-data:${CONTAINER_PATHS.stateDir}
    tmpfs: ["/tmp:size=16m,mode=1777"]
    secrets:
${list(
  notifierSecrets.map((s) => `watchpost_${s}`),
  '      ',
)}
    pids_limit: 128
    mem_limit: 192m
    healthcheck:
      test: ["CMD", "node", "dist/cli/healthcheck.js", "http://127.0.0.1:9851/-/healthy"]
      interval: 30s
      timeout: 10s
      retries: 3
      start_period: 20s
    networks:
      watchpost-monitoring: {}
      # The only way out: Slack and SMTP.
      watchpost-egress: {}

  watchpost-prometheus:
    <<: *hardening
    image: \${PROMETHEUS_IMAGE:-${PINNED_IMAGES.PROMETHEUS_IMAGE}}
    user: "${NOBODY_UID}:${NOBODY_UID}"
    group_add: [${secretsGid}]
    command:
      - --config.file=/etc/prometheus/prometheus.yml
      - --storage.tsdb.path=/prometheus
      - --storage.tsdb.retention.time=\${PROMETHEUS_RETENTION:-15d}
      - --storage.tsdb.retention.size=\${PROMETHEUS_RETENTION_SIZE:-5GB}
      - --web.listen-address=:9090
    volumes:
      - { type: bind, source: ${d}/prometheus, target: /etc/prometheus, read_only: true }
      - watchpost-prometheus-data:/prometheus
    tmpfs: ["/tmp:size=16m,mode=1777"]
    secrets: [watchpost_metrics_token, watchpost_notifier_token]
    pids_limit: 256
    mem_limit: 1g
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9090/-/healthy"]
      interval: 30s
      timeout: 10s
      retries: 3
      start_period: 30s
    networks: [watchpost-monitoring]

  watchpost-alertmanager:
    <<: *hardening
    image: \${ALERTMANAGER_IMAGE:-${PINNED_IMAGES.ALERTMANAGER_IMAGE}}
    user: "${NOBODY_UID}:${NOBODY_UID}"
    group_add: [${secretsGid}]
    command:
      - --config.file=/etc/alertmanager/alertmanager.yml
      - --storage.path=/alertmanager
      - --web.listen-address=:9093
      # One instance: no gossip port.
      - --cluster.listen-address=
    volumes:
      - { type: bind, source: ${d}/alertmanager, target: /etc/alertmanager, read_only: true }
      - watchpost-alertmanager-data:/alertmanager
    tmpfs: ["/tmp:size=16m,mode=1777"]
    secrets: [watchpost_notifier_token]
    pids_limit: 128
    mem_limit: 128m
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9093/-/healthy"]
      interval: 30s
      timeout: 10s
      retries: 3
      start_period: 20s
    networks: [watchpost-monitoring]

  watchpost-grafana:
    <<: *hardening
    image: \${GRAFANA_IMAGE:-${PINNED_IMAGES.GRAFANA_IMAGE}}
    user: "${GRAFANA_UID}:0"
    group_add: [${secretsGid}]
    environment:
      GF_SECURITY_ADMIN_USER: admin
      GF_SECURITY_ADMIN_PASSWORD__FILE: ${CONTAINER_PATHS.secret('grafana_admin_password')}
      GF_AUTH_ANONYMOUS_ENABLED: "false"
      GF_USERS_ALLOW_SIGN_UP: "false"
      GF_AUTH_DISABLE_LOGIN_FORM: "false"
      GF_ANALYTICS_REPORTING_ENABLED: "false"
      GF_ANALYTICS_CHECK_FOR_UPDATES: "false"
      GF_LOG_MODE: console
    volumes:
      - { type: bind, source: ${d}/grafana/provisioning, target: /etc/grafana/provisioning, read_only: true }
      - { type: bind, source: ${d}/grafana/dashboards, target: /etc/grafana/dashboards, read_only: true }
      - watchpost-grafana-data:/var/lib/grafana
    tmpfs: ["/tmp:size=64m,mode=1777"]
    secrets: [watchpost_grafana_admin_password]
    # The only published port, on loopback: reach it through an SSH tunnel or your reverse proxy.
    ports: ["\${GRAFANA_BIND:-127.0.0.1}:\${GRAFANA_PORT:-3000}:3000"]
    pids_limit: 256
    mem_limit: 512m
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/api/health"]
      interval: 30s
      timeout: 10s
      retries: 3
      start_period: 60s
    networks:
      watchpost-monitoring: {}
      # A published port needs a network that is not internal.
      watchpost-ui: {}

  # Optional: a read-only proxy of the Docker socket (only the GET endpoints the collectors
  # use; docs/deploy.md). Start it with --profile docker-proxy, set
  # collectors.containers.endpoint: tcp://watchpost-docker-proxy:2375 in ${d}/watchpost.yml,
  # and remove the socket mount and the socket's group from watchpost-exporter.
  watchpost-docker-proxy:
    <<: *hardening
    profiles: [docker-proxy]
    image: \${WATCHPOST_IMAGE:-watchpost:${opts.version}}${build('    ')}
    command: ["docker-proxy", "--listen", "0.0.0.0:2375"]
    user: "${WATCHPOST_UID}:${WATCHPOST_UID}"
    group_add: [${dockerGid}]
    volumes:
      - { type: bind, source: /var/run/docker.sock, target: /var/run/docker.sock, read_only: true }
    tmpfs: ["/tmp:size=4m,mode=1777"]
    pids_limit: 64
    mem_limit: 96m
    healthcheck:
      test: ["CMD", "node", "dist/cli/healthcheck.js", "http://127.0.0.1:2375/_ping"]
      interval: 30s
      timeout: 10s
      retries: 3
      start_period: 10s
    networks: [watchpost-monitoring]

networks:
  # Prometheus, Alertmanager, the notifier and Grafana talk here; nothing on it reaches out.
  watchpost-monitoring:
    internal: true
  watchpost-egress: {}
  watchpost-ui: {}
${appNetworkDecls.map((n) => `  # The app's network "${n}", declared by the app's compose file.\n  ${n}: {}`).join('\n')}
volumes:
  watchpost-prometheus-data: {}
  watchpost-alertmanager-data: {}
  watchpost-notifier-data: {}
  watchpost-grafana-data: {}

secrets:
${allSecrets.map((s) => `  watchpost_${s}:\n    file: ${d}/secrets/${s}`).join('\n')}
`.replace(/\n{3,}/g, '\n\n');
}
