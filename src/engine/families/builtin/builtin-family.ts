import { BUILTIN_MODELS, createBuiltinSeparator } from '../../../core/builtin/builtin-models';
import { ErrorCodes, ModelError } from '../../../core/errors';
import type { StemSeparator } from '../../../core/separation/types';
import type { FamilySeparatorOptions, ModelFamily } from '../model-family';
import { withStemSubset } from '../stem-subset';

/** The DSP models of core/builtin (`builtin:hpss`, `builtin:center`…): no files, no sessions. */
export class BuiltinFamily implements ModelFamily {
  async stems(id: string): Promise<string[]> {
    const builtin = BUILTIN_MODELS.find((b) => b.id === id);
    if (!builtin)
      throw new ModelError(ErrorCodes.MODEL_NOT_INSTALLED, `Model ${id} is not installed`, { model: id });
    return [...builtin.stems];
  }

  async separator(id: string, opts: FamilySeparatorOptions): Promise<StemSeparator> {
    return withStemSubset(createBuiltinSeparator(id), opts.stems);
  }

  async dispose(): Promise<void> {}
}
