/**
 * A second process for models-manager.spec.ts: installs one model with its own ModelManager on the
 * shared models directory and reports on stdout (`downloading`, then the JSON result).
 * Usage: node -r @swc-node/register models-child-install.ts <modelsDir> <catalogFile> <name>
 */
import { loadCatalogFile } from '../../src/infra/models/catalog-loader';
import { ModelManager } from '../../src/engine/models/model-manager';

const [modelsDir, catalogFile, name] = process.argv.slice(2);
const manager = new ModelManager({ modelsDir, catalog: loadCatalogFile(catalogFile) });
let announced = false;
manager
  .downloadModel(name, {
    onProgress: (p) => {
      if (p.stage === 'downloading' && !announced) {
        announced = true;
        process.stdout.write('downloading\n');
      }
    },
  })
  .then((r) => process.stdout.write(`${JSON.stringify({ version: r.version, installed: r.installed })}\n`))
  .catch((e: { code?: string; message: string }) => {
    process.stdout.write(`${JSON.stringify({ error: e.code ?? e.message })}\n`);
    process.exitCode = 1;
  });
