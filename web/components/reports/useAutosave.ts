'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { describeError } from '@/lib/api/errors';
import { api } from '@/lib/api/client';
import { changes, clearLocal, contentOf, initialContent, loadLocal, saveLocal } from '@/lib/reports/draft';
import { saveDraft } from '@/lib/reports/queries';
import type { DraftContent, Report } from '@/lib/reports/types';

export type SaveState = 'saved' | 'pending' | 'saving' | 'offline' | 'error';

const DEBOUNCE_MS = 800;
const RETRY_MS = 5000;

/**
 * The draft being typed: every change goes to localStorage at once and to the server after a
 * short pause; the local copy goes only when the server holds the same content. A network drop
 * retries (and on `online`); a version conflict re-reads the report and re-sends the edits on top.
 */
export function useAutosave(report: Report, editable: boolean, onSaved: (r: Report) => void) {
  const server = useRef(report);
  const [content, setContent] = useState<DraftContent>(() => contentOf(report));
  const contentRef = useRef(content);
  const [state, setState] = useState<SaveState>('saved');
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const inFlight = useRef<Promise<void> | null>(null);
  const onSavedRef = useRef(onSaved);
  onSavedRef.current = onSaved;

  const flush = useCallback(async (): Promise<void> => {
    if (timer.current) clearTimeout(timer.current);
    if (inFlight.current) await inFlight.current;
    const run = async () => {
      const target = contentRef.current;
      const diff = changes(contentOf(server.current), target);
      if (Object.keys(diff).length === 0) {
        clearLocal(localStorage, server.current.id);
        setState('saved');
        return;
      }
      setState('saving');
      try {
        const saved = await saveDraft(server.current.id, server.current.version, diff);
        server.current = saved;
        onSavedRef.current(saved);
        setError(null);
        if (Object.keys(changes(contentOf(saved), contentRef.current)).length === 0) {
          clearLocal(localStorage, saved.id);
          setState('saved');
        } else {
          setState('pending');
          timer.current = setTimeout(() => void flush(), DEBOUNCE_MS);
        }
      } catch (err) {
        const info = describeError(err);
        if (info.status === 409 && info.code === 'version_conflict') {
          server.current = (await api.get<Report>(`/api/reports/${encodeURIComponent(server.current.id)}`)).data;
          timer.current = setTimeout(() => void flush(), 0);
          return;
        }
        if (info.status === 0 || info.status >= 500) {
          setState('offline');
          timer.current = setTimeout(() => void flush(), RETRY_MS);
          return;
        }
        setState('error');
        setError(info.message);
      }
    };
    inFlight.current = run().finally(() => {
      inFlight.current = null;
    });
    await inFlight.current;
  }, []);

  // A report opened (or re-read after a transition): start from its content, or from a local
  // draft the server never got.
  useEffect(() => {
    server.current = report;
    if (!editable) {
      contentRef.current = contentOf(report);
      setContent(contentRef.current);
      return;
    }
    const opened = initialContent(report, loadLocal(localStorage, report.id));
    contentRef.current = opened.content;
    setContent(opened.content);
    setState(opened.pending ? 'pending' : 'saved');
    if (opened.pending) timer.current = setTimeout(() => void flush(), 0);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [report.id, report.status, editable]);

  useEffect(() => {
    const online = () => void flush();
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('online', online);
      if (timer.current) clearTimeout(timer.current);
    };
  }, [flush]);

  const update = useCallback(
    (patch: Partial<DraftContent>) => {
      const next = { ...contentRef.current, ...patch };
      contentRef.current = next;
      setContent(next);
      saveLocal(localStorage, { reportId: server.current.id, baseVersion: server.current.version, content: next, savedAt: Date.now() });
      setState('pending');
      if (timer.current) clearTimeout(timer.current);
      timer.current = setTimeout(() => void flush(), DEBOUNCE_MS);
    },
    [flush],
  );

  return { content, update, state, error, flush };
}
