import { archiveEntryProblem, isInside, safeRelativePath } from './archive-paths';

describe('archive entry rules', () => {
  it('normalises harmless paths', () => {
    expect(safeRelativePath('model/vocals.onnx')).toBe('model/vocals.onnx');
    expect(safeRelativePath('./model//x')).toBe('model/x');
    expect(safeRelativePath('dir/')).toBe('dir');
  });

  it.each(['../evil', 'a/../../evil', '/etc/passwd', 'C:\\x', 'C:/x', 'a\\..\\b', 'a/..', 'x\0y', ''])(
    'refuses %j',
    (p) => {
      expect(safeRelativePath(p)).toBeNull();
      expect(archiveEntryProblem({ path: p, type: 'file' })).toMatch(/unsafe path/);
    },
  );

  it('allows symlinks inside the tree and refuses escaping ones', () => {
    expect(archiveEntryProblem({ path: 'a/link', type: 'symlink', linkPath: '../b/file' })).toBeNull();
    expect(archiveEntryProblem({ path: 'a/link', type: 'symlink', linkPath: '../../etc/passwd' })).toMatch(
      /outside/,
    );
    expect(archiveEntryProblem({ path: 'link', type: 'symlink', linkPath: '/etc/passwd' })).toMatch(
      /outside/,
    );
  });

  it('checks hard-link targets relative to the archive root', () => {
    expect(archiveEntryProblem({ path: 'a/h', type: 'hardlink', linkPath: 'a/file' })).toBeNull();
    expect(archiveEntryProblem({ path: 'a/h', type: 'hardlink', linkPath: '../outside' })).toMatch(/outside/);
  });

  it('refuses device files and FIFOs', () => {
    expect(archiveEntryProblem({ path: 'dev', type: 'other' })).toMatch(/unsupported entry type/);
  });

  it('isInside is true for the root and its descendants only', () => {
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/b/c')).toBe(true);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
    expect(isInside('/a/b', '/a')).toBe(false);
  });
});
