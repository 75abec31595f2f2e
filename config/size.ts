/**
 * Sizes in config: a whole number of bytes, or a string with a unit as people write them
 * ("500KB", "10MiB", "1.5GB"). KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB powers
 * of 1024, as in `ls --si` and `ls -h`; a bare "B" or no unit is bytes.
 */
const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};
export const SIZE_PATTERN = '^\\s*(\\d+(?:\\.\\d+)?)\\s*([KkMmGgTt]i?[Bb]|[Bb])?\\s*$';
const SIZE = new RegExp(SIZE_PATTERN);

/** Bytes in `text` (rounded down to a whole byte), or undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text);
  if (!m) return undefined;
  const factor = UNITS[(m[2] ?? '').toLowerCase()];
  if (factor === undefined) return undefined;
  return Math.floor(Number(m[1]) * factor);
}
