import { dirname } from 'node:path';
import { displayPath } from '../../bootstrap/compose.js';
import { formatMode } from '../../internal/secret.js';
import type { Rule, RuleHit } from '../types.js';

/**
 * watchpost's own installation keeps its generated secrets in watchpost/secrets/ with mode
 * 0640 and a dedicated group that only the monitoring services join (docs/deploy.md), so
 * that each container user can read exactly its secrets: group-readable is expected there.
 */
const INSTALL_SECRETS = /(^|\/)watchpost\/secrets\/[^/]+$/;

export const secretFilePermissions: Rule = {
  id: 'secret-file-permissions',
  severity: 'error',
  title: 'Compose secret files readable by group or others',
  rationale:
    "A compose file secret is bind-mounted with the host file's owner and mode. A secret file readable by everyone on the host is no secret; group-readable shares it with every member of the group.",
  fix: 'chmod 600 the file (0640 only with a group that exists for that purpose, as watchpost/secrets/ uses), and chmod 700 its folder.',
  check(project, ctx) {
    const hits: RuleHit[] = [];
    // The 0640 files in watchpost/secrets/ are safe only inside a folder nobody else can enter.
    const folders = new Set<string>();
    for (const s of project.secretFiles) {
      if (!INSTALL_SECRETS.test(s.file)) continue;
      const folder = dirname(s.file);
      if (folders.has(folder)) continue;
      folders.add(folder);
      const mode = ctx.modeOf(folder);
      if (mode === undefined || (mode & 0o077) === 0) continue;
      hits.push({
        pos: s.pos,
        service: null,
        message: `the secrets folder ${displayPath(folder, project.dir)}/ can be entered by ${mode & 0o007 ? 'everyone' : 'its group'} (mode ${formatMode(mode)}): chmod 700 it`,
      });
    }
    for (const s of project.secretFiles) {
      const mode = ctx.modeOf(s.file);
      if (mode === undefined) continue;
      const others = (mode & 0o007) !== 0;
      const group = (mode & 0o070) !== 0;
      if (!others && (!group || INSTALL_SECRETS.test(s.file))) continue;
      hits.push({
        pos: s.pos,
        service: null,
        message: `secret "${s.name}" (${displayPath(s.file, project.dir)}) is readable by ${others ? 'everyone' : 'its group'} (mode ${formatMode(mode)})`,
      });
    }
    return hits;
  },
};
