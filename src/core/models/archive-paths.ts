/**
 * Path rules for extracting untrusted model archives: an entry may only create regular files,
 * directories, and links that stay inside the extraction root. Everything is judged on the
 * archive's own (POSIX) path strings before anything touches the disk.
 */
import * as path from 'path';

export type ArchiveEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface ArchiveEntryInfo {
  path: string;
  type: ArchiveEntryType;
  /** Link target as stored (symlink: relative to the entry's directory; hardlink: to the root). */
  linkPath?: string;
}

/**
 * Normalised relative POSIX path of an entry, or null when the path is unsafe: empty, absolute
 * (`/x`, `C:\x`, `\\server`), containing a `..` segment, a backslash or a NUL.
 */
export function safeRelativePath(entryPath: string): string | null {
  if (!entryPath || entryPath.includes('\0') || entryPath.includes('\\')) return null;
  if (entryPath.startsWith('/') || /^[A-Za-z]:/.test(entryPath)) return null;
  const segments = entryPath.split('/');
  if (segments.some((s) => s === '..')) return null;
  const normal = path.posix.normalize(entryPath).replace(/\/+$/, '');
  if (normal === '' || normal === '.') return '.';
  if (normal.startsWith('../') || normal === '..' || path.posix.isAbsolute(normal)) return null;
  return normal.replace(/^\.\//, '');
}

/** Why an entry must be refused, or null when it is fine. */
export function archiveEntryProblem(e: ArchiveEntryInfo): string | null {
  const rel = safeRelativePath(e.path);
  if (rel === null) return `unsafe path '${e.path}'`;
  switch (e.type) {
    case 'file':
    case 'directory':
      return null;
    case 'symlink': {
      const target = e.linkPath ?? '';
      if (!target || target.startsWith('/') || target.includes('\\') || /^[A-Za-z]:/.test(target)) {
        return `symlink '${e.path}' points outside the archive ('${target}')`;
      }
      const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(rel), target));
      if (resolved === '..' || resolved.startsWith('../')) {
        return `symlink '${e.path}' points outside the archive ('${target}')`;
      }
      return null;
    }
    case 'hardlink': {
      const target = e.linkPath ?? '';
      return safeRelativePath(target) === null
        ? `hard link '${e.path}' points outside the archive ('${target}')`
        : null;
    }
    default:
      return `unsupported entry type for '${e.path}'`;
  }
}

/** True when `child` (absolute) is `root` or inside it. */
export function isInside(root: string, child: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
