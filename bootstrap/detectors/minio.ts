import { imageBase, type Detector } from './types.js';

/** MinIO's server (not its `mc` client) as an HTTP probe of its liveness endpoint. */
export const detectMinio: Detector = (svc) => {
  if (imageBase(svc) !== 'minio') return [];
  return [
    {
      section: 'dependencies.targets',
      service: svc.name,
      pos: svc.image?.pos ?? svc.pos,
      comment: [`MinIO (${svc.image!.value}): its liveness endpoint, which needs no credentials`],
      item: { name: svc.name, kind: 'http', url: `http://${svc.name}:9000/minio/health/live` },
    },
  ];
};
