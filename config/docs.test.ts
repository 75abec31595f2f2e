import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configJsonSchema } from './json-schema.js';
import { ConfigError, parseConfigText } from './load.js';

type JsonSchema = { properties?: Record<string, JsonSchema>; items?: JsonSchema };

/** Every key path a user can write, e.g. `collectors.disk.directories.path`. */
function keyPaths(schema: JsonSchema, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    if (key === '$schema') continue;
    const path = prefix ? `${prefix}.${key}` : key;
    out.push(path);
    out.push(...keyPaths(sub, path));
    if (sub.items) out.push(...keyPaths(sub.items, path));
  }
  return out;
}

describe('docs/configuration.md', () => {
  it('documents every key of the schema', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'configuration.md'), 'utf8');
    const paths = keyPaths(configJsonSchema() as JsonSchema);
    assert.ok(paths.length > 15);
    // Leaf keys shared by every collector are documented once, in the collectors table.
    const missing = paths.filter((p) => {
      const leaf = p.split('.').pop()!;
      const common = /^collectors\.[a-z]+\.(enabled|interval|timeout)$/.test(p);
      return !doc.includes(`\`${p}\``) && !(common && doc.includes(`| \`${leaf}\` |`));
    });
    assert.deepEqual(missing, [], `undocumented keys: ${missing.join(', ')}`);
  });
});

describe('config examples in the docs', () => {
  for (const doc of ['README.md', 'docs/configuration.md', 'docs/notifier.md']) {
    it(`every yaml example in ${doc} is a valid config`, () => {
      const text = readFileSync(join(import.meta.dirname, '..', doc), 'utf8');
      const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
      for (const block of blocks) {
        try {
          parseConfigText(block, doc, {});
        } catch (err) {
          assert.ok(err instanceof ConfigError, String(err));
          // Examples name Docker secrets that exist only where they are deployed.
          const real = err.problems.filter(
            (p) => !/^secret file "\/run\/secrets\/[^"]+" does not exist$/.test(p.message),
          );
          assert.deepEqual(real, [], `example in ${doc}:\n${block}`);
        }
      }
    });
  }
});
