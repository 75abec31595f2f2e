import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DESCRIPTORS } from '../exporter/collectors/registry.js';
import { configJsonSchema, renderConfigJsonSchema } from './json-schema.js';

describe('config JSON Schema', () => {
  it('the committed watchpost.schema.json is what the zod schema generates (run: npm run gen:schema)', () => {
    const committed = readFileSync(join(import.meta.dirname, 'watchpost.schema.json'), 'utf8');
    assert.equal(committed, renderConfigJsonSchema());
  });

  it('describes what users write: strict objects, durations as strings, secrets as file paths', () => {
    const s = configJsonSchema() as {
      additionalProperties: boolean;
      properties: Record<
        string,
        { properties: Record<string, { type?: string; pattern?: string; additionalProperties?: boolean }> }
      >;
    };
    assert.equal(s.additionalProperties, false);
    const exporter = s.properties.exporter!.properties;
    assert.equal(exporter.bearer_token_file?.type, 'string');
    assert.equal(exporter.process_metrics_interval?.type, 'string');
    assert.ok(exporter.process_metrics_interval?.pattern, 'durations carry their pattern');
    // One key per collector in the registry, and no other (a new collector needs no edit here).
    assert.deepEqual(
      Object.keys(s.properties.collectors!.properties).sort(),
      DESCRIPTORS.map((d) => d.name).sort(),
    );
    assert.ok(s.properties.collectors!.properties.host, 'the host collector is among them');
  });
});
