import { z } from 'zod';
import { checkTimeout, collectorBase, name, regex, type SchemaContext } from '../../../config/fields.js';

/** The default of `binary`: a program named ffmpeg, run by name or by path. */
export const DEFAULT_FFMPEG_BINARY = '(^|/)ffmpeg$';

/** The settings of the ffmpeg collector: `collectors.ffmpeg` in watchpost.yml. */
export function ffmpegSchema(_ctx: SchemaContext) {
  const ffmpeg = z
    .strictObject({
      ...collectorBase({ interval: '15s', timeout: '5s' }),
      binary: regex('the process binary')
        .default(DEFAULT_FFMPEG_BINARY)
        .describe('Matched against argv[0] of each process.'),
      groups: z
        .array(
          z.strictObject({
            name: name('a group name'),
            match: regex('the command-line match'),
            expected: z.number().int().nonnegative().default(0),
          }),
        )
        .default([])
        .describe(
          'Named groups of FFmpeg processes, each matched by a regular expression on the full command line.',
        ),
    })
    .superRefine(checkTimeout)
    .prefault({});
  return ffmpeg;
}
