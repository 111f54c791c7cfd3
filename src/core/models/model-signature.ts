/**
 * Checks an ONNX file's declared inputs/outputs against what its catalog entry (or upload
 * manifest) promises, before any session is created: a file for the wrong model, the wrong F or
 * the wrong layout is reported by name instead of failing deep inside a separation.
 */
import type { OnnxModelMetadata, OnnxValueDeclaration } from '../onnx/onnx-metadata-reader';
import type { CatalogEntry } from './model-catalog';

export interface ValidationCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** A failed fatal check makes the version invalid; others are warnings. */
  fatal: boolean;
}

export const check = (name: string, ok: boolean, detail: string, fatal = true): ValidationCheck => ({
  name,
  ok,
  detail,
  fatal,
});

const fmt = (d: OnnxValueDeclaration) =>
  `${d.name}: ${d.elementType} [${(d.shape ?? []).map((x) => x ?? '?').join(', ')}]`;

type Shape = readonly (number | string | null)[];

/**
 * One float32 rank-4 input and one output; `axisProblems` names what is wrong with a shape's
 * model-specific axes.
 */
function checkRank4Io(
  file: string,
  meta: OnnxModelMetadata,
  axisProblems: (shape: Shape) => string[],
): ValidationCheck[] {
  const out: ValidationCheck[] = [];
  for (const [what, list] of [
    ['input', meta.inputs],
    ['output', meta.outputs],
  ] as const) {
    if (list.length !== 1) {
      out.push(check(`signature:${file}:${what}`, false, `expected 1 ${what}, found ${list.length}`));
      continue;
    }
    const d = list[0];
    const shape = d.shape ?? [];
    const problems: string[] = [];
    if (d.elementType !== 'float32') problems.push(`element type ${d.elementType}, expected float32`);
    if (shape.length !== 4) problems.push(`rank ${shape.length}, expected 4`);
    else problems.push(...axisProblems(shape));
    out.push(
      check(
        `signature:${file}:${what}`,
        problems.length === 0,
        problems.length ? `${fmt(d)}: ${problems.join('; ')}` : fmt(d),
      ),
    );
  }
  return out;
}

/** Signature of one Spleeter instrument file: x/y float32 [2,S,T,F] or [S,2,T,F]. */
export function checkSpleeterSignature(
  entry: CatalogEntry,
  file: string,
  meta: OnnxModelMetadata,
): ValidationCheck[] {
  const sp = entry.spleeter!;
  const out = checkRank4Io(file, meta, (shape) => {
    const problems: string[] = [];
    if (shape[0] !== 2 && shape[1] !== 2) problems.push('no channel axis of size 2 at position 0 or 1');
    if (typeof shape[3] === 'number' && shape[3] !== sp.F) problems.push(`F = ${shape[3]}, expected ${sp.F}`);
    if (typeof shape[2] === 'number' && shape[2] !== sp.T) problems.push(`T = ${shape[2]}, expected ${sp.T}`);
    return problems;
  });
  const stems = meta.metadata.stems;
  if (stems !== undefined) {
    out.push(
      check(
        `metadata:${file}:stems`,
        Number(stems) === entry.stems.length,
        `metadata stems = ${stems}, entry has ${entry.stems.length}`,
      ),
    );
  }
  return out;
}

/** Signature of an MDX-Net file: input/output float32 [B, 4, dim_f, dim_t]. */
export function checkMdxSignature(
  entry: CatalogEntry,
  file: string,
  meta: OnnxModelMetadata,
): ValidationCheck[] {
  const want = [0, 4, entry.mdx!.dim_f, entry.mdx!.dim_t];
  const labels = ['', 'channels (L/R re/im)', 'dim_f', 'dim_t'];
  return checkRank4Io(file, meta, (shape) =>
    [1, 2, 3]
      .filter((axis) => typeof shape[axis] === 'number' && shape[axis] !== want[axis])
      .map((axis) => `${labels[axis]} = ${shape[axis]}, expected ${want[axis]}`),
  );
}
