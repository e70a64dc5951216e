'use client';

import { useState } from 'react';
import { checkManifest } from '@/lib/ai/manifest';
import { aiErrorMessage } from '@/lib/ai/messages';
import { useUploadModel } from '@/lib/ai/queries';
import { useT } from '@/lib/i18n';

/** Register a new model version: its manifest (typed or read from a .json file) and, for ONNX, the file. */
export function ModelUpload({ onDone }: { onDone: (name: string) => void }) {
  const t = useT();
  const upload = useUploadModel();
  const [manifest, setManifest] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [inputs, setInputs] = useState(0); // a new key empties the file inputs after an upload

  const submit = async () => {
    const check = checkManifest(manifest, !!file);
    if (!check.ok) {
      setMessage({ ok: false, text: t(`ai.models.upload.problem.${check.problem}`) });
      return;
    }
    setMessage(null);
    try {
      await upload.mutateAsync({ manifest, file: check.kind === 'onnx' ? file : null });
      setMessage({ ok: true, text: t('ai.models.upload.done', { name: check.name, version: check.version }) });
      setManifest('');
      setFile(null);
      setInputs((n) => n + 1);
      onDone(check.name);
    } catch (err) {
      setMessage({ ok: false, text: aiErrorMessage(t, err) });
    }
  };

  return (
    <section className="rounded bg-white p-3 shadow-sm" data-testid="model-upload">
      <h2 className="mb-2 text-sm font-semibold text-slate-700">{t('ai.models.upload.title')}</h2>
      <label className="mb-1 block text-xs text-slate-600">
        {t('ai.models.upload.manifest')}
        <input
          key={`manifest-${inputs}`}
          type="file"
          accept=".json,application/json"
          className="ml-2 text-xs"
          data-testid="model-manifest-file"
          onChange={async (e) => setManifest((await e.target.files?.[0]?.text()) ?? '')}
        />
      </label>
      <textarea
        value={manifest}
        onChange={(e) => setManifest(e.target.value)}
        rows={6}
        spellCheck={false}
        data-testid="model-manifest"
        aria-label={t('ai.models.upload.manifest')}
        className="w-full rounded border border-slate-300 p-1 font-mono text-xs"
      />
      <label className="mt-1 block text-xs text-slate-600">
        {t('ai.models.upload.file')}
        <input
          key={`file-${inputs}`}
          type="file"
          accept=".onnx"
          className="ml-2 text-xs"
          data-testid="model-file"
          onChange={(e) => setFile(e.target.files?.[0] ?? null)}
        />
      </label>
      <div className="mt-2 flex items-center gap-3">
        <button
          type="button"
          onClick={submit}
          disabled={upload.isPending || !manifest}
          data-testid="model-upload-submit"
          className="rounded bg-sky-700 px-3 py-1 text-sm text-white hover:bg-sky-800 disabled:opacity-50"
        >
          {t('ai.models.upload.submit')}
        </button>
        {message && (
          <span role={message.ok ? 'status' : 'alert'} data-testid="model-upload-message" data-ok={message.ok ? '1' : '0'} className={`text-sm ${message.ok ? 'text-emerald-700' : 'text-red-600'}`}>
            {message.text}
          </span>
        )}
      </div>
    </section>
  );
}
