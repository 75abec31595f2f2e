#!/usr/bin/env node
/**
 * The container healthcheck: `node dist/cli/healthcheck.js [URL]` exits 0 when URL (default
 * the exporter's http://127.0.0.1:9850/-/healthy) answers 2xx within 3 s, 1 otherwise.
 * It exists so the image needs no curl or wget: node itself is the probe. Kept apart from
 * cli/main.ts so a probe every few seconds loads nothing but this file.
 */
const url = process.argv[2] ?? 'http://127.0.0.1:9850/-/healthy';

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  process.stdout.write(`${url}: ${res.status}\n`);
  process.exitCode = res.ok ? 0 : 1;
} catch (err) {
  process.stdout.write(`${url}: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
