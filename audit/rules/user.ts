import { perService, type Rule } from '../types.js';

export const runsAsRoot: Rule = {
  id: 'runs-as-root',
  severity: 'warning',
  title: 'Runs as root (user: root or 0)',
  rationale:
    "Root in a container is root on the host's files it mounts, and one kernel or runtime bug away from root on the host.",
  fix: 'Run as an unprivileged uid: `user: "10001:10001"` (make the files it writes owned by that uid).',
  check: perService((svc) =>
    svc.user && /^(root|0)(:|$)/.test(svc.user.value)
      ? { pos: svc.user.pos, service: svc.name, message: `runs as root ("user: ${svc.user.value}")` }
      : undefined,
  ),
};

export const noUser: Rule = {
  id: 'no-user',
  severity: 'info',
  title: 'No user: the image decides, which is root for most images',
  rationale:
    "Without `user:` the container runs as the image's USER, and most images do not set one: root. Some (postgres, nginx) start as root and drop privileges themselves.",
  fix: 'Set `user: "UID:GID"` where the image supports it, after checking which uid it expects for its files.',
  check: perService((svc) =>
    svc.user
      ? undefined
      : { pos: svc.pos, service: svc.name, message: "sets no user (the image's, often root)" },
  ),
};
