import { parentPort } from 'node:worker_threads';
import { parsePathList } from './mediamtx.js';
import { parseRtmpStat } from './nginx-rtmp.js';

/** The thread behind parse-off-loop.ts: parses one answer per message, by kind. */
parentPort?.on('message', (msg: { id: number; kind: 'nginx-rtmp' | 'mediamtx'; body: string }) => {
  try {
    const value = msg.kind === 'nginx-rtmp' ? parseRtmpStat(msg.body) : parsePathList(msg.body);
    parentPort!.postMessage({ id: msg.id, ok: true, value });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, ok: false, error: (err as Error).message });
  }
});
