import { describe, expect, it } from 'vitest';
import { translate } from '@/lib/i18n';
import { ageLabel, displayName, sexLabel } from './names';

const zh = (k: string, v?: Record<string, string | number>) => translate('zh-CN', k, v);
const en = (k: string, v?: Record<string, string | number>) => translate('en', k, v);

describe('names', () => {
  it('puts the chosen group first', () => {
    expect(displayName('ideographic', { pn: 'Zhang^Wei=张^伟' })).toBe('张伟 (Zhang Wei)');
    expect(displayName('alphabetic', { pn: 'Zhang^Wei=张^伟' })).toBe('Zhang Wei (张伟)');
    expect(displayName('alphabetic', { ideographic: '张三丰', alphabetic: 'Zhang^Sanfeng' })).toBe('Zhang Sanfeng (张三丰)');
    // The record's groups win over its display name.
    expect(displayName('alphabetic', { ideographic: '张^三丰', alphabetic: 'Zhang^Sanfeng', pn: '张三丰 (Zhang Sanfeng)' })).toBe('Zhang Sanfeng (张三丰)');
  });
  it('shows one group alone', () => {
    expect(displayName('ideographic', { pn: 'Doe^John' })).toBe('Doe John');
    expect(displayName('alphabetic', { pn: '王^小明' })).toBe('王小明');
    expect(displayName('ideographic', { pn: '' })).toBe('');
  });
});

describe('sex and age', () => {
  it('in Chinese', () => {
    expect(sexLabel(zh, 'M')).toBe('男');
    expect(sexLabel(zh, 'F')).toBe('女');
    expect(ageLabel(zh, '059Y')).toBe('59岁');
    expect(ageLabel(zh, '003M')).toBe('3个月');
  });
  it('in English', () => {
    expect(sexLabel(en, 'F')).toBe('F');
    expect(ageLabel(en, '059Y')).toBe('59 y');
    expect(ageLabel(en, 'unknown')).toBe('unknown');
  });
});
