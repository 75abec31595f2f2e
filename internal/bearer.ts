import { createHash, timingSafeEqual } from 'node:crypto';
import type { Secret } from './secret.js';

/** Compares two strings in time that does not depend on where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * The token of an `Authorization: Bearer <token>` header, or '' without one. The scheme is
 * matched without regard to case, as RFC 7235 §2.1 says of every authentication scheme.
 */
export function bearerTokenOf(header: string | undefined): string {
  const h = header ?? '';
  return /^bearer /i.test(h) ? h.slice(7).trim() : '';
}

/**
 * Checks a request's Authorization header against the expected token: `missing` without a
 * bearer token, `invalid` with another one. An empty expected token matches nothing, so a
 * request without a header can never equal it.
 */
export function checkBearer(header: string | undefined, expected: Secret): 'ok' | 'missing' | 'invalid' {
  const token = bearerTokenOf(header);
  if (token === '') return 'missing';
  const want = expected.reveal();
  return want !== '' && safeEqual(token, want) ? 'ok' : 'invalid';
}
