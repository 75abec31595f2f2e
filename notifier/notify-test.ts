import type { Logger } from '../internal/log.js';
import type { ChannelConfig, NotifierConfig } from '../config/notifier-schema.js';
import { redact } from '../internal/secret.js';
import { deadline, timeoutSignal } from '../internal/timeout.js';
import type { Channel, SendResult } from './channels/channel.js';
import type { Notification } from './outbox.js';
import { buildChannels } from './run.js';

/**
 * `watchpost notify-test`: sends one clearly marked test notification straight through
 * each channel's send() (not through the outbox: nothing is stored, nothing retried) and
 * reports per channel whether it arrived, so a new Slack webhook or SMTP login can be
 * checked before a real alert depends on it.
 */

export const NOTIFY_TEST_ALERT = 'WatchpostNotifyTest';
export const NOTIFY_TEST_TIMEOUT_MS = 20_000;

/** The test alert for one channel: firing, with a severity it receives and its `=` matchers' labels. */
export function testNotification(channel: ChannelConfig, now = new Date()): Notification {
  const severity = channel.severities?.[0] ?? 'info';
  const labels: Record<string, string> = {};
  for (const m of channel.matchers ?? []) if (m.op === '=' && m.value !== '') labels[m.name] = m.value;
  Object.assign(labels, { alertname: NOTIFY_TEST_ALERT, severity, channel: channel.name });
  return {
    payload: {
      version: '4',
      groupKey: 'watchpost-notify-test',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'watchpost-notify-test',
      groupLabels: { alertname: NOTIFY_TEST_ALERT },
      commonLabels: labels,
      commonAnnotations: {},
      externalURL: '',
      alerts: [
        {
          status: 'firing',
          labels,
          annotations: {
            summary: `watchpost notify-test: test notification for channel ${channel.name} (no action needed)`,
            description: `Sent by "watchpost notify-test" at ${now.toISOString()} to check that channel ${channel.name} (${channel.type}) delivers. It is not an alert: nothing is wrong, and it will not resolve.`,
            runbook_url: 'docs/notifier.md',
          },
          startsAt: now.toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: '',
          fingerprint: '',
        },
      ],
    },
  };
}

export interface NotifyTestLine {
  channel: string;
  ok: boolean;
  /** `slack-ops: ok` or `email-oncall: FAILED (retryable: connect ECONNREFUSED 127.0.0.1:25)`. */
  line: string;
}

function describeFailure(r: Extract<SendResult, { ok: false }>): string {
  const what = r.detail ? humanize(r.detail) : r.reason;
  return `${r.retryable ? 'retryable' : 'permanent'}: ${redact(what)}`;
}

/** "connect ECONNREFUSED 127.0.0.1:25" reads "connection refused (127.0.0.1:25)". */
function humanize(detail: string): string {
  const refused = /ECONNREFUSED\s*([^\s)]*)/.exec(detail);
  if (refused) return `connection refused${refused[1] ? ` (${refused[1]})` : ''}`;
  return detail;
}

async function sendWithTimeout(ch: Channel, message: Notification, timeoutMs: number): Promise<SendResult> {
  const bound = timeoutSignal(timeoutMs);
  const timedOut: SendResult = {
    ok: false,
    retryable: true,
    reason: 'timeout',
    detail: `no answer within ${timeoutMs} ms`,
  };
  try {
    // A channel that ignored its signal still cannot hold the command up.
    const r = await deadline(ch.send(message, bound.signal), timeoutMs + 1000);
    if (!r.settled) return timedOut;
    const result = r.value;
    if (!result.ok && bound.timedOut && (result.reason === 'aborted' || !result.detail)) return timedOut;
    return result;
  } catch (err) {
    return { ok: false, retryable: true, reason: 'exception', detail: (err as Error).message };
  } finally {
    bound.clear();
  }
}

/** Sends the test notification through every channel (or the named ones), in parallel; lines in config order. */
export async function notifyTest(
  config: NotifierConfig,
  log: Logger,
  opts: { channels?: string[]; timeoutMs?: number; now?: Date } = {},
): Promise<NotifyTestLine[]> {
  const selected = config.channels.filter((c) => !opts.channels || opts.channels.includes(c.name));
  const channels = buildChannels({ ...config, channels: selected }, log);
  const timeoutMs = opts.timeoutMs ?? NOTIFY_TEST_TIMEOUT_MS;
  try {
    return await Promise.all(
      selected.map(async (cfg, i): Promise<NotifyTestLine> => {
        const result = await sendWithTimeout(channels[i]!, testNotification(cfg, opts.now), timeoutMs);
        return result.ok
          ? { channel: cfg.name, ok: true, line: `${cfg.name}: ok` }
          : { channel: cfg.name, ok: false, line: `${cfg.name}: FAILED (${describeFailure(result)})` };
      }),
    );
  } finally {
    await Promise.allSettled(channels.map(async (c) => c.close?.()));
  }
}
