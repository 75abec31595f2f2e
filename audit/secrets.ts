/**
 * What counts as a secret-looking variable, and when its value is weak. Used by the
 * weak-secret rule; a finding says why a value is weak but never prints it.
 */

/** *PASSWORD*, *PASSWD*, *SECRET*, *TOKEN*, *_KEY, JWT*, *_PASS — but not *_FILE (a path). */
export function isSecretKey(key: string): boolean {
  const k = key.toUpperCase();
  // Where a secret is, or who may read it, is not the secret: DB_PASSWORD_FILE, SECRETS_GID.
  if (/_(FILE|PATH|DIR|GID|UID)$/.test(k)) return false;
  return (
    /PASSWORD|PASSWD|SECRET|TOKEN/.test(k) ||
    /(^|_)KEY$/.test(k) ||
    k.startsWith('JWT') ||
    /(^|_)PASS$/.test(k)
  );
}

/** Defaults from images' docs, tutorials and quick starts, and the words people type. */
const WELL_KNOWN = new Set([
  'admin', 'administrator', 'password', 'passw0rd', 'p@ssw0rd', 'p@ssword', 'password1', 'password123',
  'changeme', 'change_me', 'change-me', 'changeit', 'secret', 'secret123', 'mysecret', 'supersecret',
  'minioadmin', 'minio123', 'postgres', 'root', 'toor', 'mysql', 'mariadb', 'redis', 'guest', 'test',
  'testing', 'default', 'letmein', 'welcome', '1234', '12345', '123456', '12345678', '123456789',
  'qwerty', 'example', 'demo', 'user', 'pass', 'dev', 'development', 'token', 'key', 'apikey',
  'api_key', 'your-secret-key', 'your_secret_key', 'secretkey', 'secret_key', 'jwt_secret',
  'notsecret', 'insecure', 'xxx', 'xxxx', 'todo', 'none', 'null',
]); // prettier-ignore

const PLACEHOLDER =
  /change[-_ ]?me|replace[-_ ]?me|changeit|insecure|placeholder|your[-_ ]?(secret|password|token|key)|example|dummy/i;

export const MIN_SECRET_LENGTH = 16;
/** Below this many bits (Shannon entropy of the characters × length) a secret is guessable. */
export const MIN_SECRET_BITS = 64;

/** Why `value` is weak for the variable `key` of service `service`, or undefined when it is not. */
export function weakness(value: string, key: string, service: string | null): string | undefined {
  const lower = value.toLowerCase();
  if (value === '') return 'is empty';
  if (WELL_KNOWN.has(lower)) return 'is a well-known default or common password';
  if (lower.startsWith('django-insecure-'))
    return "is Django's development key (it starts with django-insecure-)";
  if (PLACEHOLDER.test(value)) return 'is a placeholder left from an example';
  if (service !== null && lower === service.toLowerCase()) return "is the service's name";
  if (lower === key.toLowerCase()) return "is the variable's own name";
  if (value.length < MIN_SECRET_LENGTH)
    return `is ${value.length} characters long (at least ${MIN_SECRET_LENGTH} needed)`;
  const bits = entropyBits(value);
  if (bits < MIN_SECRET_BITS) return `has low entropy (about ${Math.round(bits)} bits)`;
  return undefined;
}

/** Shannon entropy of the value's character distribution times its length. */
export function entropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    h -= p * Math.log2(p);
  }
  return h * value.length;
}
