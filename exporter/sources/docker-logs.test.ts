import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DockerLogDemuxer } from './docker-logs.js';

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('DockerLogDemuxer', () => {
  it('splits frames of stdout and stderr, whatever the chunk boundaries', () => {
    const all = Buffer.concat([
      frame(1, 'out one\n'),
      frame(2, 'err one\n'),
      frame(1, 'out two\n'),
      frame(1, ''),
    ]);
    for (let size = 1; size <= all.length; size++) {
      const got: string[] = [];
      const d = new DockerLogDemuxer((s, chunk, start, end) =>
        got.push(`${s}:${chunk.toString('utf8', start, end)}`),
      );
      for (let i = 0; i < all.length; i += size) d.push(all.subarray(i, i + size));
      const joined = { 1: '', 2: '' } as Record<string, string>;
      for (const g of got) joined[g[0]!] += g.slice(2);
      assert.deepEqual(joined, { 1: 'out one\nout two\n', 2: 'err one\n' }, `chunks of ${size}`);
    }
  });
});
