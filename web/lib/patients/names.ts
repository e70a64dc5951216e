/**
 * How people are shown: the user's choice of Chinese-name order (ideographic first, "张伟
 * (Zhang Wei)", or Latin first, "Zhang Wei (张伟)"), kept in localStorage; sex and age in the
 * user's language (男 / 59岁, M / 59 y).
 */
import { create } from 'zustand';
import type { TFunction } from '@/lib/i18n';

export type NameOrder = 'ideographic' | 'alphabetic';
const STORAGE_KEY = 'hf.nameOrder';
const CJK = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]/;

interface NameOrderState {
  order: NameOrder;
  setOrder: (order: NameOrder) => void;
}

export const useNameOrder = create<NameOrderState>((set) => ({
  order: 'ideographic',
  setOrder: (order) => {
    try {
      window.localStorage.setItem(STORAGE_KEY, order);
    } catch {
      /* private mode: this page only */
    }
    set({ order });
  },
}));

export function loadStoredNameOrder(): void {
  let stored: string | null = null;
  try {
    stored = window.localStorage.getItem(STORAGE_KEY);
  } catch {
    stored = null;
  }
  if (stored === 'ideographic' || stored === 'alphabetic') useNameOrder.getState().setOrder(stored);
}

/** One PN component group `Family^Given^Middle^Prefix^Suffix` as people write it. */
function groupText(value: string): string {
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = value.split('^').map((p) => p.trim());
  const parts = [prefix, family, given, middle, suffix].filter(Boolean);
  return CJK.test(value) ? parts.join('') : parts.join(' ');
}

/**
 * A DICOM PN (`Zhang^Wei=张^伟=zhang^wei`) or separate ideographic/alphabetic names, in the
 * chosen order. The phonetic group is shown only when nothing else exists.
 */
export function displayName(
  order: NameOrder,
  name: { pn?: string | null; ideographic?: string | null; alphabetic?: string | null },
): string {
  let alphabetic = name.alphabetic ?? '';
  let ideographic = name.ideographic ?? '';
  let phonetic = '';
  // The PN is the fallback: separate groups, when given, are the record's own.
  if (name.pn && !alphabetic && !ideographic) {
    const [a = '', i = '', p = ''] = name.pn.split('=');
    phonetic = p;
    // A single-group PN in Chinese characters is the ideographic form (common from modalities).
    if (!i && CJK.test(a)) ideographic = a;
    else [alphabetic, ideographic] = [a, i];
  }
  const ideo = groupText(ideographic);
  const alpha = groupText(alphabetic);
  if (!ideo && !alpha) return groupText(phonetic);
  if (!ideo || !alpha || ideo === alpha) return ideo || alpha;
  return order === 'ideographic' ? `${ideo} (${alpha})` : `${alpha} (${ideo})`;
}

/** M/F/O → 男/女/其他 (or the English words); anything else shown as it is. */
export function sexLabel(t: TFunction, sex: string | null | undefined): string {
  if (sex === 'M' || sex === 'F' || sex === 'O') return t(`patients.sex.${sex}`);
  return sex ?? '';
}

/** A DICOM age string ("059Y", "003M", "010D", "002W") → "59岁" / "3个月"; other text unchanged. */
export function ageLabel(t: TFunction, age: string | null | undefined): string {
  if (!age) return '';
  const m = /^(\d{1,3})\s*([YMWD])$/i.exec(age.trim());
  if (!m) return age;
  return t(`patients.age.${m[2].toUpperCase()}`, { n: Number(m[1]) });
}
