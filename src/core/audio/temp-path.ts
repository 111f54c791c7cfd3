/**
 * Naming of the temporary files that outputs are written to before the final rename. They live in
 * the destination directory (so the rename stays on one filesystem and is atomic) and are hidden
 * and recognisable, so an operator can sweep leftovers after a crash: `.<name>.<random>.partial`.
 */
import { randomBytes } from 'crypto';
import * as path from 'path';

export const TEMP_SUFFIX = '.partial';

export function temporaryPathFor(finalPath: string): string {
  const dir = path.dirname(finalPath);
  const base = path.basename(finalPath);
  return path.join(dir, `.${base}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
}
