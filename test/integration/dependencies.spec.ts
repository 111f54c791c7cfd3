/**
 * Every dependency package.json declares is used (scripts/check-deps.ts): imported somewhere, named
 * by a config file or script, the types of a used package, or on the checker's commented allowlist.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ALLOWLIST, checkDependencies } from '../../scripts/check-deps';

describe('declared dependencies', () => {
  it('are all used (or allowlisted with a reason)', () => {
    const report = checkDependencies();
    expect(report.unused).toEqual([]);
    expect(report.declared).toBeGreaterThan(50);
    // An allowlisted package that became used must leave the allowlist.
    for (const name of report.allowlisted) expect(ALLOWLIST[name]).toBeTruthy();
    expect(Object.keys(ALLOWLIST).filter((n) => report.usedBy[n])).toEqual([]);
  });

  describe('the check', () => {
    let root: string;
    beforeEach(() => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'check-deps-'));
      fs.mkdirSync(path.join(root, 'src'));
      fs.mkdirSync(path.join(root, 'test'));
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    const write = (file: string, text: string) => fs.writeFileSync(path.join(root, file), text);

    it('reports a declared package nothing names, and only that one', () => {
      write(
        'package.json',
        JSON.stringify({
          dependencies: { 'imported-pkg': '1', 'deep-pkg': '1', '@scope/lazy': '1', 'left-pad': '1' },
          devDependencies: { '@types/imported-pkg': '1', '@types/left-pad': '1', 'cfg-only': '1' },
          scripts: { lint: 'cfg-only --fix' },
        }),
      );
      write(
        'src/a.ts',
        [
          "import { x } from 'imported-pkg';",
          "const y = require('deep-pkg/lib/y');",
          "export const load = () => import('@scope/lazy');",
          "// import 'left-pad' in a comment does not count",
        ].join('\n'),
      );
      const report = checkDependencies(root);
      expect(report.unused).toEqual(['@types/left-pad', 'left-pad']);
      expect(report.usedBy).toMatchObject({
        'imported-pkg': 'imported',
        'deep-pkg': 'imported',
        '@scope/lazy': 'imported',
        '@types/imported-pkg': 'types of imported-pkg',
        'cfg-only': 'named in a config file or npm script',
      });
    });
  });
});
