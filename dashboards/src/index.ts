// Every dashboard, by the file name it is rendered to (dashboards/<file>.json).
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { containersDashboard } from './containers.js';
import { dependenciesDashboard } from './dependencies.js';
import { hostDashboard } from './host.js';
import { overviewDashboard } from './overview.js';
import { securityDashboard } from './security.js';
import { selfDashboard } from './self.js';
import { streamsDashboard } from './streams.js';

export const dashboards: Record<string, () => dashboard.Dashboard> = {
  overview: overviewDashboard,
  'host-and-disks': hostDashboard,
  containers: containersDashboard,
  streams: streamsDashboard,
  security: securityDashboard,
  'dependencies-and-backups': dependenciesDashboard,
  'self-monitoring': selfDashboard,
};

/** The JSON file Grafana's file provider reads: the SDK's object, two-space indented. */
export function render(d: dashboard.Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}
