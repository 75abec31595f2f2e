// What every benchmark script shares: numeric settings from the environment, and writing
// its own section of bench/RESULTS.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const HEADER =
  '# Benchmark results\n\nEach section is written by its benchmark script; see bench/README.md.\n';

/** A non-negative number from environment variable `name`, or `dflt` when unset or empty. */
export const env = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${v}"`);
  return n;
};

/**
 * Replaces the lines from `heading` up to the next `## ` heading (or appends them when
 * absent), keeping every other benchmark's section.
 */
export function writeSection(path, heading, section) {
  let text = existsSync(path) ? readFileSync(path, 'utf8') : HEADER;
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start === -1) {
    text = `${text.replace(/\n*$/, '')}\n\n${section.trimEnd()}\n`;
  } else {
    let end = lines.findIndex((l, i) => i > start && /^##\s/.test(l));
    if (end === -1) end = lines.length;
    const before = lines.slice(0, start).join('\n').replace(/\n*$/, '');
    const after = lines.slice(end).join('\n').replace(/^\n*/, '');
    text = `${before ? `${before}\n\n` : ''}${section.trimEnd()}\n${after ? `\n${after}` : ''}`;
    if (!text.endsWith('\n')) text += '\n';
  }
  writeFileSync(path, text);
  return path;
}
