'use client';

import { useState } from 'react';
import { useT } from '@/lib/i18n';
import { useTextPrompt } from '@/lib/viewer/textPrompt';

const MAX_LENGTH = 64;

/** Asks for an arrow annotation's text, in the app's language (not the browser's prompt()). */
export function TextPromptDialog() {
  const request = useTextPrompt((s) => s.request);
  if (!request) return null;
  // Keyed by the request so each question starts from its own text.
  return <PromptForm key={request.id} initial={request.initial} />;
}

function PromptForm({ initial }: { initial: string }) {
  const t = useT();
  const answer = useTextPrompt((s) => s.answer);
  const [text, setText] = useState(initial);
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center bg-black/60" role="dialog" aria-modal="true" aria-label={t('viewer.annotationText.title')} data-testid="annotation-text-dialog">
      <form
        className="w-80 rounded bg-neutral-900 p-4 text-sm text-neutral-200"
        onSubmit={(e) => {
          e.preventDefault();
          answer(text);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Escape') answer(null);
        }}
      >
        <label className="mb-2 block font-semibold" htmlFor="hf-annotation-text">
          {t('viewer.annotationText.title')}
        </label>
        <input
          id="hf-annotation-text"
          autoFocus
          maxLength={MAX_LENGTH}
          value={text}
          onChange={(e) => setText(e.target.value)}
          className="w-full rounded bg-neutral-800 px-2 py-1 text-neutral-100"
          data-testid="annotation-text-input"
        />
        <div className="mt-3 flex justify-end gap-2">
          <button type="button" onClick={() => answer(null)} className="rounded px-3 py-1 hover:bg-neutral-800" data-testid="annotation-text-cancel">
            {t('viewer.annotationText.cancel')}
          </button>
          <button type="submit" disabled={!text.trim()} className="rounded bg-sky-700 px-3 py-1 text-white disabled:opacity-50" data-testid="annotation-text-ok">
            {t('viewer.annotationText.ok')}
          </button>
        </div>
      </form>
    </div>
  );
}
