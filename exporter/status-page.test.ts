import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderStatusPage } from './status-page.js';

describe('status page', () => {
  it("lists the collectors' warnings, escaped, and none when there are none", () => {
    const base = { intervalMs: 15_000, timeoutMs: 5_000, runs: 3, failures: 0, success: true };
    const html = renderStatusPage(
      [
        { ...base, name: 'host' },
        {
          ...base,
          name: 'streams',
          notes: ['nginx-rtmp server "rtmp<1>": multi-worker nginx-rtmp: stats are partial'],
        },
      ],
      'test',
    );
    assert.match(html, /<h2>Warnings<\/h2>/);
    assert.match(
      html,
      /<li>streams: nginx-rtmp server &quot;rtmp&lt;1&gt;&quot;: multi-worker nginx-rtmp: stats are partial<\/li>/,
    );
    assert.doesNotMatch(renderStatusPage([{ ...base, name: 'host' }], 'test'), /Warnings/);
  });
});
