import type { Logger } from '../../internal/log.js';
import type { Notification } from '../outbox.js';
import { renderText, type RenderOptions } from '../render.js';
import { renderFailed, type Channel, type SendResult } from './channel.js';

/** Writes each notification to the log: the default channel, and a record of what was sent. */
export class LogChannel implements Channel {
  readonly type = 'log' as const;
  constructor(
    readonly name: string,
    readonly severities: readonly string[] | undefined,
    private readonly log: Logger,
    private readonly render: RenderOptions,
  ) {}

  async send(message: Notification): Promise<SendResult> {
    let rendered;
    try {
      rendered = renderText(message.payload, { ...this.render, now: new Date(), current: message.current });
    } catch (err) {
      return renderFailed(err);
    }
    const { subject, text } = rendered;
    this.log.info('notification', { channel: this.name, subject, text });
    return { ok: true };
  }
}
