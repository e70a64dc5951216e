/**
 * A DICOM PN for people: `Zhang^Wei=张^伟` → `Zhang Wei (张伟)`; `王^小明=王^小明` → `王小明`.
 * Groups are alphabetic=ideographic=phonetic; components family^given^middle^prefix^suffix.
 * Chinese/Japanese/Korean names are written without spaces, family name first.
 */
const CJK = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]/;

function group(value: string): string {
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = value.split('^').map((p) => p.trim());
  if (CJK.test(value)) return [prefix, family, given, middle, suffix].filter(Boolean).join('');
  return [prefix, family, given, middle, suffix].filter(Boolean).join(' ');
}

export function formatPersonName(pn: string | null | undefined): string {
  if (!pn) return '';
  const groups = pn
    .split('=')
    .map(group)
    .filter(Boolean);
  const unique = groups.filter((g, i) => groups.indexOf(g) === i);
  if (unique.length <= 1) return unique[0] ?? '';
  return `${unique[0]} (${unique.slice(1).join(', ')})`;
}
