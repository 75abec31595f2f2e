import { perService, type Rule } from '../types.js';

export const imageLatest: Rule = {
  id: 'image-latest',
  severity: 'warning',
  title: ':latest or untagged images',
  rationale:
    'An image without a tag is :latest, which moves: the next `pull` or a host rebuild runs a different version — a major upgrade of a database, unreviewed — and a rollback has nothing to go back to.',
  fix: 'Pin a version tag (`postgres:16.3`), or a digest (`image@sha256:...`) for a reproducible deploy, and upgrade on purpose.',
  check: perService((svc) => {
    const image = svc.image?.value;
    if (!image || image.includes('@')) return undefined;
    const last = image.slice(image.lastIndexOf('/') + 1);
    const colon = last.indexOf(':');
    const tag = colon === -1 ? undefined : last.slice(colon + 1);
    if (tag !== undefined && tag !== 'latest') return undefined;
    return {
      pos: svc.image!.pos,
      service: svc.name,
      message:
        tag === 'latest'
          ? `uses the moving tag "${image}"`
          : `image "${image}" has no tag (it means :latest)`,
    };
  }),
};
