/**
 * Reads the model catalog file (YAML or JSON): `models.catalog_file` when configured (tests point
 * it at a catalog whose URLs hit their local server), else the catalog shipped with the package,
 * config/models.catalog.yaml. Built-in models are added when the file does not list them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { ErrorCodes, ValidationError } from '../../core/errors';
import { BUILTIN_MODELS } from '../../core/models/builtin-models';
import { ModelCatalog } from '../../core/models/model-catalog';

export const DEFAULT_CATALOG_FILENAME = 'models.catalog.yaml';

/** The shipped catalog: the first `config/models.catalog.yaml` found walking up from this file. */
export function defaultCatalogPath(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'config', DEFAULT_CATALOG_FILENAME);
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return path.resolve(process.cwd(), 'config', DEFAULT_CATALOG_FILENAME);
}

export function loadCatalogFile(file?: string | null): ModelCatalog {
  const resolved = file ? path.resolve(file) : defaultCatalogPath();
  let text: string;
  try {
    text = fs.readFileSync(resolved, 'utf8');
  } catch (err) {
    throw new ValidationError(
      ErrorCodes.VALIDATION_FAILED,
      `Cannot read model catalog ${resolved}: ${(err as Error).message}`,
      {
        file: resolved,
      },
    );
  }
  let doc: unknown;
  try {
    doc = resolved.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ValidationError(
      ErrorCodes.VALIDATION_FAILED,
      `Cannot parse model catalog ${resolved}: ${(err as Error).message}`,
      {
        file: resolved,
      },
    );
  }
  return ModelCatalog.parse(doc, resolved).withDefaults(BUILTIN_MODELS);
}
