import { describe, expect, it } from 'vitest';
import { formatPersonName } from './personName';

describe('person names', () => {
  it('joins Chinese names without spaces and drops repeated groups', () => {
    expect(formatPersonName('王^小明=王^小明')).toBe('王小明');
    expect(formatPersonName('Zhang^Wei=张^伟')).toBe('Zhang Wei (张伟)');
    expect(formatPersonName('=张^伟')).toBe('张伟');
  });
  it('keeps western names readable', () => {
    expect(formatPersonName('Doe^John^^Dr')).toBe('Dr Doe John');
    expect(formatPersonName('CompressedSamples^CT1')).toBe('CompressedSamples CT1');
    expect(formatPersonName('')).toBe('');
    expect(formatPersonName(null)).toBe('');
  });
  it('leaves markup as plain text', () => {
    expect(formatPersonName('<b>XSS</b>^<i>canary</i>')).toBe('<b>XSS</b> <i>canary</i>');
  });
});
