import * as path from 'path';
import { ErrorCodes, ValidationError } from '../../core/errors';

export const DEFAULT_FILENAME_FORMAT = '{filename}/{instrument}.{codec}';
const KNOWN_FIELDS = new Set(['filename', 'foldername', 'instrument', 'codec']);

/**
 * Spleeter's `--filename-format`: `{filename}` (input base name without extension),
 * `{foldername}` (name of the input's folder), `{instrument}`, `{codec}`. The result must stay inside
 * `outputDir`: absolute formats and `..` escapes are refused.
 */
export function renderOutputPath(
  outputDir: string,
  format: string,
  fields: { audioPath: string; instrument: string; codec: string },
): string {
  const values: Record<string, string> = {
    filename: path.parse(fields.audioPath).name,
    foldername: path.basename(path.dirname(path.resolve(fields.audioPath))),
    instrument: fields.instrument,
    codec: fields.codec,
  };
  const rendered = format.replace(/\{([a-z_]+)\}/g, (_m, key: string) => {
    if (!KNOWN_FIELDS.has(key)) {
      throw new ValidationError(ErrorCodes.VALIDATION_FAILED, `Unknown field {${key}} in filename format`, {
        field: 'filenameFormat',
      });
    }
    return values[key];
  });
  if (path.isAbsolute(rendered)) {
    throw new ValidationError(
      ErrorCodes.VALIDATION_FAILED,
      'Filename format must be relative to the output directory',
      {
        field: 'filenameFormat',
      },
    );
  }
  const root = path.resolve(outputDir);
  const full = path.resolve(root, rendered);
  if (full !== root && !full.startsWith(root + path.sep)) {
    throw new ValidationError(ErrorCodes.VALIDATION_FAILED, 'Filename format escapes the output directory', {
      field: 'filenameFormat',
    });
  }
  return full;
}
