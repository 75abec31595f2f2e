import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
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

/** The `user:password@` of a URL inside any text. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi;

/**
 * Replaces every known secret value inside `text` with `<secret>`, and the credentials of
 * any URL (`http://user:pass@host`) with `<secret>@`: the config refuses such URLs, but one
 * may still arrive inside an error message or a peer's answer.
 */
export function redact(text: string): string {
  let out = text.includes('@') ? text.replace(URL_CREDENTIALS, `$1${Secret.REDACTED}@`) : text;
  for (const s of knownSecrets) {
    if (out.includes(s)) out = out.split(s).join(Secret.REDACTED);
  }
  return out;
}

/** At most this many bytes are read from a secret file: a token or a password, never more. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

/**
 * Why a file cannot be used, as the end of a sentence that starts with its name
 * ("secret file "/run/secrets/x" is a FIFO, not a regular file").
 */
export class FileRefused extends Error {}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads a config or secret file with limits, so that a path naming /dev/zero, a FIFO
 * without a writer or a directory fails at once instead of hanging or eating memory:
 * the file is opened without blocking (a FIFO's open would wait for a writer), must be a
 * regular file, and at most `maxBytes` are read (the size is checked before and while
 * reading, for a file that grows). Throws FileRefused saying why, or the fs error.
 * Returns the text and the file's mode bits.
 */
export function readBoundedFile(path: string, maxBytes: number): { text: string; mode: number; gid: number } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileRefused(`is ${kindOf(st)}, not a regular file`);
    const tooLarge = () =>
      new FileRefused(`is larger than ${formatBytes(maxBytes)}, the most that is read from such a file`);
    if (st.size > maxBytes) throw tooLarge();
    const buf = Buffer.allocUnsafe(Math.min(maxBytes + 1, Math.max(st.size + 1, 4096)));
    let used = 0;
    for (;;) {
      if (used === buf.length) {
        if (used > maxBytes) throw tooLarge();
        break;
      }
      const n = readSync(fd, buf, used, buf.length - used, null);
      if (n === 0) break;
      used += n;
      if (used > maxBytes) throw tooLarge();
    }
    return { text: buf.toString('utf8', 0, used), mode: st.mode & 0o777, gid: st.gid };
  } finally {
    closeSync(fd);
  }
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${n / 1024 / 1024} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} bytes`;
}

/** A file's permission bits as chmod takes them: 0640, 0600. */
export function formatMode(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}

/**
 * Reads a secret file: its text without one trailing newline, and a warning when the file
 * is readable by its group or by others (a secret file is mode 0600, or 0400).
 *
 * `sharedGroup` is a group that is given secrets on purpose: the overlay's secrets group,
 * which only the monitoring services join (docs/deploy.md). A file readable by that group
 * and not by others is how the overlay shares a secret with a container user: no warning.
 */
export function readSecretFile(
  path: string,
  opts: { sharedGroup?: number } = {},
): { value: string; warning?: string } {
  const { text, mode, gid } = readBoundedFile(path, MAX_SECRET_FILE_BYTES);
  const value = text.replace(/\r?\n$/, '');
  if ((mode & 0o077) === 0) return { value };
  if ((mode & 0o007) === 0 && opts.sharedGroup !== undefined && gid === opts.sharedGroup) return { value };
  return {
    value,
    warning: `secret file "${path}" is readable by ${mode & 0o070 ? `its group (${gid})` : ''}${
      mode & 0o070 && mode & 0o007 ? ' and ' : ''
    }${mode & 0o007 ? 'others' : ''} (mode ${formatMode(mode)}): run chmod 600 on it${
      mode & 0o070 && !(mode & 0o007)
        ? ', or set WATCHPOST_SECRETS_GID to a group that exists only to share secrets'
        : ''
    }`,
  };
}
