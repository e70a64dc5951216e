import { create } from 'zustand';
import en from '@/i18n/en.json';
import zhCN from '@/i18n/zh-CN.json';

export type Locale = 'zh-CN' | 'en';
type Messages = { [key: string]: string | Messages };

const CATALOGUES: Record<Locale, Messages> = { 'zh-CN': zhCN, en };
export const LOCALES: Locale[] = ['zh-CN', 'en'];
const STORAGE_KEY = 'hf.locale';

export function lookup(messages: Messages, key: string): string | undefined {
  let node: string | Messages | undefined = messages;
  for (const part of key.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = node[part];
  }
  return typeof node === 'string' ? node : undefined;
}

export function format(template: string, vars?: Record<string, string | number>): string {
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (m, name: string) =>
    name in vars ? String(vars[name]) : m,
  );
}

export function translate(
  locale: Locale,
  key: string,
  vars?: Record<string, string | number>,
): string {
  const message = lookup(CATALOGUES[locale], key) ?? lookup(CATALOGUES['zh-CN'], key) ?? key;
  return format(message, vars);
}

interface LocaleState {
  locale: Locale;
  setLocale: (locale: Locale) => void;
}

/** zh-CN by default; the user's choice is remembered in localStorage. */
export const useLocale = create<LocaleState>((set) => ({
  locale: 'zh-CN',
  setLocale: (locale) => {
    try {
      window.localStorage.setItem(STORAGE_KEY, locale);
    } catch {
      /* private mode: keep it for this page only */
    }
    document.documentElement.lang = locale;
    set({ locale });
  },
}));

export function loadStoredLocale(): void {
  let stored: string | null = null;
  try {
    stored = window.localStorage.getItem(STORAGE_KEY);
  } catch {
    stored = null;
  }
  if (stored === 'en' || stored === 'zh-CN') useLocale.getState().setLocale(stored);
}

export type TFunction = (key: string, vars?: Record<string, string | number>) => string;

export function useT(): TFunction {
  const locale = useLocale((s) => s.locale);
  return (key, vars) => translate(locale, key, vars);
}

export function catalogueKeys(messages: Messages, prefix = ''): string[] {
  return Object.entries(messages).flatMap(([k, v]) =>
    typeof v === 'string' ? [prefix + k] : catalogueKeys(v, `${prefix}${k}.`),
  );
}

export { CATALOGUES };
