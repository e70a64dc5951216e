import type { DraftContent, Report } from './types';

/**
 * The local copy of a draft: written on every change, removed only once the server holds the
 * same content, so a crash or a network drop loses no keystroke.
 */
export interface LocalDraft {
  reportId: string;
  /** The server version the edits were made on. */
  baseVersion: number;
  content: DraftContent;
  savedAt: number;
}

const PREFIX = 'hf.report.draft.';

export function contentOf(report: Report): DraftContent {
  return {
    findings: report.findings,
    impression: report.impression,
    recommendation: report.recommendation,
    structured: (report.structured ?? {}) as DraftContent['structured'],
    key_images: (report.key_images ?? []) as DraftContent['key_images'],
  };
}

/** Key order does not matter: compare structurally. */
export function sameContent(a: DraftContent, b: DraftContent): boolean {
  const norm = (c: DraftContent) =>
    JSON.stringify([c.findings, c.impression, c.recommendation, Object.entries(c.structured).sort(), c.key_images]);
  return norm(a) === norm(b);
}

export function loadLocal(storage: Storage, reportId: string): LocalDraft | null {
  try {
    const raw = storage.getItem(PREFIX + reportId);
    if (!raw) return null;
    const d = JSON.parse(raw) as LocalDraft;
    return d && d.reportId === reportId && d.content ? d : null;
  } catch {
    return null;
  }
}

export function saveLocal(storage: Storage, draft: LocalDraft): void {
  try {
    storage.setItem(PREFIX + draft.reportId, JSON.stringify(draft));
  } catch {
    /* storage full or disabled: the server save still runs */
  }
}

export function clearLocal(storage: Storage, reportId: string): void {
  try {
    storage.removeItem(PREFIX + reportId);
  } catch {
    /* nothing to do */
  }
}

/**
 * What the editor opens with: the local draft if it differs from the server's (it is then still
 * unsaved and is sent again), else the server's content.
 */
export function initialContent(report: Report, local: LocalDraft | null): { content: DraftContent; pending: boolean } {
  const server = contentOf(report);
  if (!local || sameContent(local.content, server)) return { content: server, pending: false };
  return { content: local.content, pending: true };
}

/** Fields that changed between two contents (the PATCH body). */
export function changes(from: DraftContent, to: DraftContent): Partial<DraftContent> {
  const out: Partial<DraftContent> = {};
  if (from.findings !== to.findings) out.findings = to.findings;
  if (from.impression !== to.impression) out.impression = to.impression;
  if (from.recommendation !== to.recommendation) out.recommendation = to.recommendation;
  if (JSON.stringify(from.structured) !== JSON.stringify(to.structured)) out.structured = to.structured;
  if (JSON.stringify(from.key_images) !== JSON.stringify(to.key_images)) out.key_images = to.key_images;
  return out;
}
