import type { Logger } from '../../config/log.js';
import type { Notification } from '../outbox.js';
import { renderText, type RenderOptions } from '../render.js';
import type { Channel, SendResult } from './channel.js';

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
    const { subject, text } = renderText(message.payload, { ...this.render, now: new Date() });
    this.log.info('notification', { channel: this.name, subject, text });
    return { ok: true };
  }
}
