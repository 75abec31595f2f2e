import { inspect } from 'node:util';

/**
 * A secret value read from a file. It prints as `<secret>` everywhere it can be
 * printed by accident (String(), JSON, util.inspect, template strings), as
 * Alertmanager's config.Secret marshals; only `reveal()` returns the value.
 * Every secret is also added to the set that log lines are redacted against.
 */
export class Secret {
  static readonly REDACTED = '<secret>';
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    if (value.length > 0) knownSecrets.add(value);
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return Secret.REDACTED;
  }

  toJSON(): string {
    return Secret.REDACTED;
  }

  [inspect.custom](): string {
    return Secret.REDACTED;
  }
}

/**
 * A secret file of the other service, left unread (see SchemaContext.skipSecrets): the
 * exporter and the notifier share one config file but not their secrets. Revealing it is
 * a bug, and says so.
 */
export class UnreadSecret extends Secret {
  constructor(readonly file: string) {
    super('');
  }

  override reveal(): string {
    throw new Error(`secret file "${this.file}" was not read: it belongs to the other watchpost service`);
  }
}

const knownSecrets = new Set<string>();

/** Replaces every known secret value inside `text` with `<secret>`. */
export function redact(text: string): string {
  let out = text;
  for (const s of knownSecrets) {
    if (out.includes(s)) out = out.split(s).join(Secret.REDACTED);
  }
  return out;
}
