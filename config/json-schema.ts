import { z } from 'zod';
import { buildSchema } from './schema.js';

/**
 * The JSON Schema of watchpost.yml for editors (yaml-language-server), generated from
 * the same zod schema the loader validates with, so the two cannot disagree. It
 * describes what a user writes (the input side: durations are strings, secrets are
 * file paths). A test fails when the committed file is out of step.
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(buildSchema({ baseDir: '.' }), { io: 'input', unrepresentable: 'any' });
  return {
    ...schema,
    title: 'watchpost.yml',
  };
}

export function renderConfigJsonSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
