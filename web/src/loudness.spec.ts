import { findLoudnessOption } from './loudness';

const doc = (properties: Record<string, unknown>) => ({
  components: {
    schemas: { SeparationUploadDto: { properties: { model: { type: 'string' }, ...properties } } },
  },
});

describe('findLoudnessOption', () => {
  it('finds nothing while the API does not advertise loudness normalisation', () => {
    expect(findLoudnessOption(doc({ mwf: { type: 'boolean' } }))).toBeNull();
    expect(findLoudnessOption(null)).toBeNull();
  });

  it('offers an enum option as a select, with its values and default', () => {
    expect(
      findLoudnessOption(
        doc({ loudness: { type: 'string', enum: ['ebu-r128', 'streaming'], default: 'ebu-r128' } }),
      ),
    ).toEqual({
      field: 'loudness',
      kind: 'enum',
      values: ['ebu-r128', 'streaming'],
      description: '',
      defaultValue: 'ebu-r128',
    });
  });

  it('offers a boolean normalize flag as a checkbox', () => {
    expect(
      findLoudnessOption(doc({ normalize: { type: 'boolean', description: 'EBU R128' } })),
    ).toMatchObject({
      field: 'normalize',
      kind: 'boolean',
    });
  });
});
