import type { Pos } from '../../bootstrap/compose.js';
import { isSecretKey, weakness } from '../secrets.js';
import type { Rule, RuleHit } from '../types.js';

export const weakSecret: Rule = {
  id: 'weak-secret',
  severity: 'error',
  title: 'Default, well-known or weak secrets in environment:, env files and .env',
  rationale:
    "Audits of self-hosted stacks keep finding admin/admin, changeme JWT secrets and the image's documented default password. Scanners try exactly those first; a short or repetitive secret falls to brute force. This applies to variables that look like secrets (*PASSWORD*, *SECRET*, *TOKEN*, *_KEY, JWT*, *_PASS).",
  fix: 'Generate each secret with a CSPRNG (e.g. `openssl rand -base64 32`), at least 16 characters, and keep it out of the compose file: in a file of mode 0600 passed as a compose secret (`*_FILE` variables) or in a `.env` of mode 0600.',
  check(project) {
    const hits: RuleHit[] = [];
    const seen = new Set<string>();
    const report = (pos: Pos, service: string | null, key: string, reason: string) => {
      const k = `${pos.file}:${pos.line}:${key}`;
      if (seen.has(k)) return;
      seen.add(k);
      hits.push({ pos, service, message: `${key} ${reason}` });
    };
    for (const svc of project.services) {
      for (const e of svc.environment) {
        if (e.value === undefined || !isSecretKey(e.key)) continue;
        const why = weakness(e.value, e.key, svc.name);
        // A value read from .env is reported on the .env line that holds it.
        if (why) report(e.via ?? e.pos, svc.name, e.key, why);
      }
    }
    for (const entry of project.dotenv?.entries ?? []) {
      if (!isSecretKey(entry.key)) continue;
      const why = weakness(entry.value, entry.key, null);
      if (why && ![...seen].some((s) => s.startsWith(`${entry.pos.file}:${entry.pos.line}:`)))
        report(entry.pos, null, entry.key, why);
    }
    return hits;
  },
};
