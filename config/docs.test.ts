import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configJsonSchema } from './json-schema.js';

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
