/** Read-only views of the models: the catalog, every known model, one model with its versions. */
import { BUILTIN_VERSION } from '../../core/models/builtin-models';
import { CatalogEntry, parseModelRef } from '../../core/models/model-catalog';
import type { ModelInfo, VersionInfo } from '../../core/models/model-types';
import type { ModelContext } from './model-context';

export class ModelQueries {
  constructor(private readonly ctx: ModelContext) {}

  listCatalog(): CatalogEntry[] {
    return [...this.ctx.catalog.entries];
  }

  /** Every known model: catalog entries (installed or not), built-ins and uploaded models. */
  async listModels(): Promise<ModelInfo[]> {
    await this.ctx.init();
    const names = new Set<string>(this.ctx.catalog.entries.map((e) => e.name));
    for (const n of await this.ctx.store.listModelNames()) names.add(n);
    const out: ModelInfo[] = [];
    for (const n of names) {
      const info = await this.describe(n);
      if (info) out.push(info);
    }
    return out;
  }

  /** Models that can run now without a download: installed versions and built-ins. */
  async listLocalModels(): Promise<ModelInfo[]> {
    return (await this.listModels()).filter((m) => m.installed);
  }

  /** One model (catalog or installed). Throws MODEL_NOT_INSTALLED for a name nobody knows. */
  async getModel(nameOrRef: string): Promise<ModelInfo> {
    await this.ctx.init();
    const { name } = parseModelRef(nameOrRef);
    const info = await this.describe(this.ctx.canonicalName(name));
    if (!info) throw this.ctx.unknownModel(name);
    return info;
  }

  async describe(name: string): Promise<ModelInfo | null> {
    const entry = this.ctx.catalog.get(name);
    const records = entry?.kind === 'builtin' ? [] : await this.ctx.store.listVersions(name);
    if (!entry && records.length === 0) return null;
    const active = await this.ctx.store.readActive(name);
    const latest = records[records.length - 1];
    const base = entry ?? latest!.entry;
    const leases = records.length ? await this.ctx.store.liveLeases(name) : [];
    const versions: VersionInfo[] =
      base.kind === 'builtin'
        ? [
            {
              id: BUILTIN_VERSION,
              active: true,
              origin: 'builtin',
              sourceUrl: null,
              sha256: null,
              installedAt: null,
              size: 0,
              format: 'builtin',
              stems: base.stems,
              precision: null,
              validation: 'unchecked',
              inUse: this.ctx.leaseCounts.get(`${name}@${BUILTIN_VERSION}`) ?? 0,
            },
          ]
        : records.map((r) =>
            this.ctx.versionInfo(r, active?.version ?? null, leases.filter((l) => l.version === r.id).length),
          );
    const activeVersion = base.kind === 'builtin' ? BUILTIN_VERSION : (active?.version ?? null);
    const activeRecord = records.find((r) => r.id === activeVersion);
    return {
      name,
      kind: base.kind,
      source: base.kind === 'builtin' ? 'builtin' : entry ? 'catalog' : 'custom',
      description: base.description,
      stems: activeRecord?.stems ?? base.stems,
      sampleRate: base.sample_rate,
      license: base.license,
      format: base.format,
      installed:
        base.kind === 'builtin' ||
        (activeRecord !== undefined && activeRecord.validation.status !== 'invalid'),
      activeVersion: base.kind === 'builtin' || activeRecord ? activeVersion : null,
      versions,
      downloadSize: entry?.sources[0]?.size ?? null,
      aliases: entry?.aliases ?? [],
    };
  }
}
