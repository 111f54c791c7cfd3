/**
 * Hook for loudness normalisation, which the API does not offer yet. The page shows the control only
 * when the API advertises it: a property of the POST /v1/separations form schema
 * (SeparationUploadDto in /docs/openapi.json) whose name mentions loudness or normalising. An enum
 * becomes a select (its values, e.g. target presets), a boolean a checkbox; the value is sent under
 * that property's name. Nothing to change here when the server grows the option.
 */

export interface LoudnessOption {
  field: string;
  kind: 'enum' | 'boolean';
  values: string[];
  description: string;
  defaultValue: string | null;
}

interface SchemaProperty {
  type?: string;
  enum?: unknown[];
  description?: string;
  default?: unknown;
  items?: { enum?: unknown[] };
}

export function findLoudnessOption(openapi: unknown): LoudnessOption | null {
  const schemas = (openapi as { components?: { schemas?: Record<string, unknown> } })?.components?.schemas;
  const form = schemas?.SeparationUploadDto as { properties?: Record<string, SchemaProperty> } | undefined;
  for (const [field, prop] of Object.entries(form?.properties ?? {})) {
    if (!/loudness|normali[sz]/i.test(field)) continue;
    const values = (prop.enum ?? prop.items?.enum ?? []).map(String);
    if (values.length > 0) {
      return {
        field,
        kind: 'enum',
        values,
        description: prop.description ?? '',
        defaultValue: prop.default === undefined ? null : String(prop.default),
      };
    }
    if (prop.type === 'boolean') {
      return { field, kind: 'boolean', values: [], description: prop.description ?? '', defaultValue: null };
    }
  }
  return null;
}
