import { statSync } from 'node:fs';
import type { Server } from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Logger } from '../internal/log.js';
import { fileErrorReason } from '../internal/fs-errors.js';
import { FileRefused, readBoundedFile, readSecretFile } from '../internal/secret.js';

/** A certificate chain or key is a few KiB; a file far larger is not one. */
const MAX_PEM_BYTES = 1024 * 1024;

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** A group given secrets on purpose (the overlay's secrets group): a key readable by it is no warning. */
  sharedGroup?: number;
}

export interface LoadedTls {
  options: SecureContextOptions;
  /** When the leaf certificate expires (ms since the epoch). */
  notAfter: number;
  /** Set when the key file is readable by others than its owner. */
  warning?: string;
}

/**
 * Reads a PEM certificate chain and its key and checks that they form a usable pair
 * (createSecureContext refuses a key that does not match the certificate). A failure is
 * one sentence naming the file and why, never the key's content.
 */
export function loadTls(files: TlsFiles): LoadedTls {
  let cert: string;
  try {
    cert = readBoundedFile(files.certFile, MAX_PEM_BYTES).text;
  } catch (err) {
    throw new Error(`certificate file "${files.certFile}" ${reason(err)}`);
  }
  let key: string;
  let warning: string | undefined;
  try {
    const read = readSecretFile(
      files.keyFile,
      files.sharedGroup !== undefined ? { sharedGroup: files.sharedGroup } : {},
    );
    key = read.value;
    warning = read.warning?.replace('secret file', 'TLS key file');
  } catch (err) {
    throw new Error(`key file "${files.keyFile}" ${reason(err)}`);
  }
  let notAfter: number;
  try {
    notAfter = Date.parse(new X509Certificate(cert).validTo);
  } catch {
    throw new Error(`certificate file "${files.certFile}" holds no PEM certificate`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const why = /KEY_VALUES_MISMATCH/.test(code + String((err as Error).message))
      ? 'does not match the certificate'
      : 'holds no usable PEM private key';
    throw new Error(`key file "${files.keyFile}" ${why}`);
  }
  return { options: { cert, key }, notAfter, ...(warning ? { warning } : {}) };
}

function reason(err: unknown): string {
  return err instanceof FileRefused ? err.message : fileErrorReason(err);
}

function fingerprint(files: TlsFiles): string {
  return [files.certFile, files.keyFile]
    .map((f) => {
      try {
        const s = statSync(f);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/**
 * Watches the certificate and key files and swaps them into the running server when they
 * change (certbot, a rotated internal CA): connections opened after the swap get the new
 * certificate, open ones keep theirs. Files are compared by inode, size and modification
 * time every `intervalMs` (polling works on every filesystem and through a bind mount,
 * where inotify misses an atomic rename of the source). A pair that does not load (a
 * renewal half-written, a key that does not match) is logged and the old pair kept; it is
 * tried again at the next change.
 */
export function watchTls(
  server: Server,
  files: TlsFiles,
  intervalMs: number,
  log: Logger,
): { notAfter(): number; reloads(): number; stop(): void } {
  let seen = fingerprint(files);
  let notAfter = loadTls(files).notAfter;
  let reloads = 0;
  const timer = setInterval(() => {
    const now = fingerprint(files);
    if (now === seen) return;
    seen = now;
    try {
      const next = loadTls(files);
      server.setSecureContext(next.options);
      notAfter = next.notAfter;
      reloads++;
      if (next.warning) log.warn('unsafe config', { warning: next.warning });
      log.info('TLS certificate reloaded', {
        cert_file: files.certFile,
        not_after: new Date(next.notAfter).toISOString(),
      });
    } catch (err) {
      log.warn('TLS certificate not reloaded, the previous one is still served', {
        reason: (err as Error).message,
      });
    }
  }, intervalMs);
  timer.unref();
  return { notAfter: () => notAfter, reloads: () => reloads, stop: () => clearInterval(timer) };
}
