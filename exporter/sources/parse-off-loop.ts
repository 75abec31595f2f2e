import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Parses large stream-server answers on a worker thread, so that a page of megabytes
 * never holds the event loop (and with it every scrape of /metrics) for seconds: a
 * 4.3 MB nginx-rtmp stat page costs fast-xml-parser about 1.4 s of CPU. Small answers,
 * the common case, are parsed in place, where a thread hop would cost more than it saves.
 *
 * One worker serves the process, started on first use and unref'd (it never keeps the
 * process alive). A request whose signal aborts (the per-server deadline) terminates the
 * worker, which stops the parse at once; the next request starts a new one. The worker's
 * heap is capped, so a pathological answer fails that parse, not the exporter.
 */

export type ParseKind = 'nginx-rtmp' | 'mediamtx';

/** Answers up to this size are parsed on the event loop. */
export const IN_PLACE_MAX_BYTES = 256 * 1024;

interface Pending {
  worker: Worker;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, Pending>();

function workerUrl(): URL {
  // The worker is this folder's parse-worker module, with this module's own extension
  // (.js when built, .ts when tests run the sources through tsx).
  const ext = extname(fileURLToPath(import.meta.url));
  return new URL(`./parse-worker${ext}`, import.meta.url);
}

/** Fails the requests that were sent to `w` (a stopped worker). */
function failAll(w: Worker, err: Error): void {
  for (const [id, p] of pending) {
    if (p.worker !== w) continue;
    pending.delete(id);
    p.reject(err);
  }
}

function getWorker(): Worker {
  if (worker) return worker;
  const url = workerUrl();
  const limits = { resourceLimits: { maxOldGenerationSizeMb: 256 } };
  // Tests run the sources through tsx, whose loader a worker does not inherit: the thread
  // registers it before importing the .ts module.
  const w = url.pathname.endsWith('.ts')
    ? new Worker(
        new URL(
          `data:text/javascript,${encodeURIComponent(
            `const { register } = await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))});
             register();
             await import(${JSON.stringify(url.href)});`,
          )}`,
        ),
        limits,
      )
    : new Worker(url, limits);
  w.unref();
  w.on('message', (msg: { id: number; ok: boolean; value?: unknown; error?: string }) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(new Error(msg.error ?? 'parse failed'));
  });
  w.on('error', (err) => {
    if (worker === w) worker = undefined;
    failAll(w, err);
  });
  w.on('exit', () => {
    if (worker === w) worker = undefined;
    failAll(w, new Error('the parser thread stopped'));
  });
  worker = w;
  return w;
}

/**
 * Runs `parseInPlace(body)` here for a small body, or the same parser (by `kind`) on the
 * worker for a large one. Rejects with the parser's error, or with `signal.reason` when the
 * signal aborts first.
 */
export function parseOffLoop<T>(
  kind: ParseKind,
  body: string,
  signal: AbortSignal,
  parseInPlace: (body: string) => T,
): Promise<T> {
  if (body.length <= IN_PLACE_MAX_BYTES) {
    try {
      return Promise.resolve(parseInPlace(body));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const id = nextId++;
    const w = getWorker();
    const onAbort = () => {
      pending.delete(id);
      reject(signal.reason as Error);
      // Stops the parse now; the other requests on this worker fail and are retried next run.
      if (worker === w) worker = undefined;
      void w.terminate();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    pending.set(id, {
      worker: w,
      resolve: (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v as T);
      },
      reject: (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    });
    w.postMessage({ id, kind, body });
  });
}

/** Stops the worker, if one runs (the exporter's close; tests). Pending parses fail. */
export async function stopParseWorker(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (w) await w.terminate();
}
