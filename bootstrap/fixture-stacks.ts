import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The fixture stacks under bootstrap/fixtures/: compose projects modelled on our users'
 * systems (and one clean, hardened one), each with its golden `watchpost init` output
 * (expected.watchpost.yml) and golden `watchpost check` findings (expected.findings.json).
 * Problems planted in them carry a `plant: <rule>` comment on the line they must be
 * reported on. Git keeps no file modes, so each fixture's fixture.json says the modes to
 * give its files; tests and the regeneration script work on a copy with those modes.
 */

export const FIXTURES_DIR = join(import.meta.dirname, 'fixtures');
export const GOLDEN_CONFIG = 'expected.watchpost.yml';
export const GOLDEN_FINDINGS = 'expected.findings.json';

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** A temporary copy of a fixture with the modes its fixture.json gives. */
export function copyFixture(name: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), `watchpost-fixture-${name}-`)), name);
  cpSync(join(FIXTURES_DIR, name), dir, { recursive: true });
  const spec = JSON.parse(readFileSync(join(dir, 'fixture.json'), 'utf8')) as {
    modes?: Record<string, string>;
  };
  for (const [file, mode] of Object.entries(spec.modes ?? {})) chmodSync(join(dir, file), parseInt(mode, 8));
  return dir;
}

/** Every `plant: rule-a, rule-b` marker: the rule ids that must be reported on that file:line. */
export function plantedProblems(dir: string): { file: string; line: number; rule: string }[] {
  const out: { file: string; line: number; rule: string }[] = [];
  const walk = (sub: string) => {
    for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else if (!e.name.startsWith('expected.') && e.name !== 'fixture.json') {
        readFileSync(join(dir, rel), 'utf8')
          .split('\n')
          .forEach((text, i) => {
            const m = /plant: ([\w-]+(?:, *[\w-]+)*)/.exec(text);
            if (m) for (const rule of m[1]!.split(/, */)) out.push({ file: rel, line: i + 1, rule });
          });
      }
    }
  };
  walk('');
  return out;
}
