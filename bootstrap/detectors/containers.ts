import { notLongRunning, type Detector } from './types.js';

/**
 * Every long-running service is an expected container (ExpectedContainerNotRunning fires
 * when it is missing or stopped). Services only started with a profile, one-shot jobs
 * another service waits for, and `restart: "no"` services are left out, with a comment
 * saying why, so a job that finished never pages anyone.
 */
export const detectContainer: Detector = (svc, { project }) => {
  const why = notLongRunning(svc, project);
  if (why) return [{ section: 'containers.expected', service: svc.name, pos: svc.pos, comment: [why] }];
  return [
    {
      section: 'containers.expected',
      service: svc.name,
      pos: svc.pos,
      comment: [],
      item: { compose_project: project.name, compose_service: svc.name },
    },
  ];
};
