import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

/**
 * The layout's import rules (docs/architecture.md), checked on every static and dynamic
 * import of every source file: the exporter and the notifier share code only through
 * internal/; internal/ depends on nothing of the project's; only the end-to-end tests import
 * test/e2e/, whose helpers start real programs (shared test support is in internal/testing/).
 */
const ROOT = resolve(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', 'dist', '.git']);

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) sources(full, out);
    else if (/\.(ts|mts|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** The project files a source file imports, relative to the root (`exporter/listen.ts`). */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*)\1/g;
  for (const m of text.matchAll(specifier)) {
    out.push(relative(ROOT, resolve(dirname(file), m[2]!)).replace(/\.js$/, '.ts'));
  }
  return out;
}

interface Rule {
  /** Files the rule applies to. */
  from: (file: string) => boolean;
  /** Imports they may not make. */
  forbidden: (target: string) => boolean;
  why: string;
}

const under = (dir: string) => (p: string) => p.startsWith(`${dir}/`);

export const RULES: Rule[] = [
  {
    from: under('notifier'),
    forbidden: under('exporter'),
    why: 'the notifier does not import the exporter: move what both use to internal/',
  },
  {
    from: under('exporter'),
    forbidden: under('notifier'),
    why: 'the exporter does not import the notifier: move what both use to internal/',
  },
  {
    from: under('internal'),
    forbidden: (t) => !under('internal')(t) && !t.startsWith('node_modules/'),
    why: 'internal/ is the bottom layer: it imports nothing else of the project',
  },
  {
    from: (f) => !under('test/e2e')(f),
    forbidden: under('test/e2e'),
    why: 'only end-to-end tests import test/e2e/: shared test support belongs in internal/testing/',
  },
];

export function violations(files: { file: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const { file, text } of files) {
    const rel = relative(ROOT, file);
    for (const target of importsOf(file, text)) {
      for (const rule of RULES) {
        if (rule.from(rel) && rule.forbidden(target)) out.push(`${rel} imports ${target}: ${rule.why}`);
      }
    }
  }
  return out;
}

describe('imports follow the layout', () => {
  it('no file breaks an import rule', () => {
    const files = sources(ROOT).map((file) => ({ file, text: readFileSync(file, 'utf8') }));
    assert.ok(files.length > 100, `read ${files.length} files`);
    assert.deepEqual(violations(files), []);
  });

  it('catches each kind of forbidden import, static and dynamic', () => {
    const at = (p: string, text: string) => ({ file: join(ROOT, p), text });
    assert.deepEqual(
      violations([
        at('notifier/run.ts', "import { listenHttp } from '../exporter/listen.js';"),
        at('exporter/x.test.ts', "const { NotifierMetrics } = await import('../notifier/metrics.js');"),
        at('internal/log.ts', "import type { Config } from '../config/schema.js';"),
        at('exporter/collectors/a.test.ts', "import { eventually } from '../../test/e2e/helpers.js';"),
        at('notifier/ok.ts', "import { createLogger } from '../internal/log.js';\nimport x from 'express';"),
        at('test/e2e/ok.test.ts', "import { startCli } from './helpers.js';"),
      ]),
      [
        'notifier/run.ts imports exporter/listen.ts: the notifier does not import the exporter: move what both use to internal/',
        'exporter/x.test.ts imports notifier/metrics.ts: the exporter does not import the notifier: move what both use to internal/',
        'internal/log.ts imports config/schema.ts: internal/ is the bottom layer: it imports nothing else of the project',
        'exporter/collectors/a.test.ts imports test/e2e/helpers.ts: only end-to-end tests import test/e2e/: shared test support belongs in internal/testing/',
      ],
    );
  });
});
