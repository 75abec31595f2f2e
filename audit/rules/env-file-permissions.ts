import { formatMode } from '../../internal/secret.js';
import type { Rule, RuleHit } from '../types.js';

export const envFilePermissions: Rule = {
  id: 'env-file-permissions',
  severity: 'error',
  title: '.env and env_file files readable by group or others',
  rationale:
    "The .env file holds the stack's passwords and keys. Readable by its group or by everyone, any local user, a backup job or a compromised service running as another user reads them all.",
  fix: 'chmod 600 the file (owner read/write only) and keep it owned by the user that runs docker compose.',
  check(project, ctx) {
    const hits: RuleHit[] = [];
    const files = [...(project.dotenv ? [project.dotenv] : []), ...project.envFiles];
    for (const f of files.filter((x, i) => files.findIndex((y) => y.path === x.path) === i)) {
      const mode = ctx.modeOf(f.path);
      if (mode === undefined || (mode & 0o077) === 0) continue;
      const who = mode & 0o007 ? 'everyone' : 'its group';
      hits.push({
        pos: { file: f.file, line: 1, column: 1 },
        service: null,
        message: `${f.file} is readable by ${who} (mode ${formatMode(mode)})`,
      });
    }
    return hits;
  },
};
