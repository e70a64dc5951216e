import type { components } from '@/lib/api/schema';

type Schemas = components['schemas'];

export type Report = Schemas['ReportRead'];
export type ReportTemplate = Schemas['TemplateRead'];
export type ReportVersions = Schemas['VersionsRead'];
export type ReportVerify = Schemas['VerifyRead'];
export type KeyImage = Schemas['KeyImage'];
export type CriticalResult = Schemas['CriticalRead'];

/** The fields of a draft the doctor types into (what autosave sends). */
export interface DraftContent {
  findings: string;
  impression: string;
  recommendation: string;
  structured: Record<string, string | number | boolean | null>;
  key_images: KeyImage[];
}

export const SECTIONS = ['findings', 'impression', 'recommendation'] as const;
export type Section = (typeof SECTIONS)[number];

export type ReportPhrase = Schemas['PhraseRead'];
export type PhraseCreate = Schemas['PhraseCreate'];
export type PhraseUpdate = Schemas['PhraseUpdate'];
