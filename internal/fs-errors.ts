/**
 * How a failed file read reads to an operator: "does not exist" rather than ENOENT.
 * One wording for config files, secret files and the files collectors read.
 */
export function fileErrorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'is not readable (permission denied)';
    case 'EISDIR':
      return 'is a directory';
    default:
      return `cannot be read (${code ?? (err as Error | undefined)?.message ?? 'unknown error'})`;
  }
}
