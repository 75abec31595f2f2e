import { envValue, isGrafana, truthy } from '../images.js';
import { perService, type Rule } from '../types.js';

export const grafanaAnonymous: Rule = {
  id: 'grafana-anonymous',
  severity: 'error',
  title: 'Grafana with anonymous access',
  rationale:
    'GF_AUTH_ANONYMOUS_ENABLED lets anyone who reaches Grafana read every dashboard — host names, container names, client IPs — and query the datasource behind it.',
  fix: 'Remove GF_AUTH_ANONYMOUS_ENABLED (or set it to "false") and give viewers accounts; keep Grafana on 127.0.0.1 behind a reverse proxy with TLS.',
  check: perService((svc) => {
    if (!isGrafana(svc)) return undefined;
    const e = envValue(svc, 'GF_AUTH_ANONYMOUS_ENABLED');
    if (!e || !truthy(e.value)) return undefined;
    return { pos: e.via ?? e.pos, service: svc.name, message: 'Grafana allows anonymous access' };
  }),
};

export const grafanaDefaultPassword: Rule = {
  id: 'grafana-default-password',
  severity: 'error',
  title: 'Grafana with its default admin password',
  rationale:
    "Without GF_SECURITY_ADMIN_PASSWORD(__FILE) Grafana's admin account is admin/admin until someone logs in and changes it — and on an exposed Grafana, someone else does first.",
  fix: 'Set GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/grafana_admin_password with a generated password in a compose secret (watchpost init writes one).',
  check: perService((svc) => {
    if (!isGrafana(svc)) return undefined;
    if (svc.environment.some((e) => /^GF_SECURITY_ADMIN_PASSWORD(__FILE)?$/.test(e.key))) return undefined;
    return {
      pos: svc.pos,
      service: svc.name,
      message: 'Grafana keeps its default admin password (no GF_SECURITY_ADMIN_PASSWORD or __FILE)',
    };
  }),
};
