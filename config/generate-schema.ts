// npm run gen:schema — rewrites config/watchpost.schema.json from the zod schema.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigJsonSchema } from './json-schema.js';

const out = join(import.meta.dirname, 'watchpost.schema.json');
writeFileSync(out, renderConfigJsonSchema());
console.log(`wrote ${out}`);
