// Writes one benchmark's section of bench/RESULTS.md: the lines from its `## ` heading up to
// the next `## ` heading are replaced (or appended when absent); every other section is kept.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const HEADER =
  '# Benchmark results\n\nEach section is written by its benchmark script; see bench/README.md.\n';

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
