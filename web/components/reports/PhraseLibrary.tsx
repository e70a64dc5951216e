'use client';

import { useState, type FormEvent } from 'react';
import { BUTTON, Field, INPUT, PRIMARY } from '@/components/admin/AdminLayout';
import { Modal } from '@/components/devices/DeviceDialog';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import { hasPermission, useSession } from '@/lib/auth/store';
import { useT, type TFunction } from '@/lib/i18n';
import { useDeletePhrase, usePhrases, useSavePhrase } from '@/lib/reports/queries';
import type { ReportPhrase } from '@/lib/reports/types';

const PHRASE_ERRORS = ['phrase_exists', 'builtin_phrase', 'shared_phrase_denied', 'phrase_not_found'];

function phraseError(t: TFunction, err: unknown): string {
  const info = describeError(err);
  return PHRASE_ERRORS.includes(info.code) ? t(`reports.phrases.errors.${info.code}`) : errorMessage(t, info);
}

type Editing = { phrase: ReportPhrase | null } | null;

/** The phrase library: the shared phrases and the user's own; add, edit and delete those allowed. */
export function PhraseLibrary() {
  const t = useT();
  const me = useSession((s) => s.me);
  const { data, error } = usePhrases();
  const remove = useDeletePhrase();
  const [editing, setEditing] = useState<Editing>(null);
  const [tab, setTab] = useState<'mine' | 'shared'>('mine');
  const [err, setErr] = useState<string | null>(null);
  const canWrite = hasPermission(me, 'report:write');
  const shown = (data ?? []).filter((p) => (tab === 'shared') === p.shared);
  const onDelete = async (p: ReportPhrase) => {
    if (!window.confirm(t('reports.phrases.confirmDelete', { shortcut: p.shortcut }))) return;
    setErr(null);
    try {
      await remove.mutateAsync(p.id);
    } catch (e) {
      setErr(phraseError(t, e));
    }
  };
  return (
    <div className="mx-auto flex h-full max-w-5xl flex-col gap-3 overflow-auto p-4" data-testid="phrase-library">
      <div className="flex items-center gap-2">
        <h1 className="text-lg font-semibold">{t('reports.phrases.title')}</h1>
        {(['mine', 'shared'] as const).map((k) => (
          <button
            key={k}
            type="button"
            className={`rounded px-2 py-0.5 text-sm ${tab === k ? 'bg-slate-800 text-white' : 'hover:bg-slate-100'}`}
            onClick={() => setTab(k)}
            data-testid={`phrase-tab-${k}`}
          >
            {t(`reports.phrases.${k}Tab`)}
          </button>
        ))}
        {canWrite && (
          <button type="button" className={`ml-auto ${PRIMARY}`} onClick={() => setEditing({ phrase: null })} data-testid="phrase-add">
            {t('reports.phrases.add')}
          </button>
        )}
      </div>
      <p className="text-xs text-slate-500">{t('reports.phrases.hint')}</p>
      {(error || err) && (
        <p role="alert" className="text-sm text-red-600" data-testid="phrase-error">
          {err ?? errorMessage(t, describeError(error))}
        </p>
      )}
      <table className="w-full rounded bg-white text-sm shadow-sm" data-testid="phrase-table">
        <thead className="bg-slate-50 text-left text-slate-600">
          <tr>
            <th className="px-2 py-2 font-medium">{t('reports.phrases.shortcut')}</th>
            <th className="px-2 py-2 font-medium">{t('reports.phrases.text')}</th>
            <th className="px-2 py-2 font-medium">{t('reports.phrases.modality')}</th>
            <th className="px-2 py-2 font-medium">{t('reports.phrases.language')}</th>
            <th className="px-2 py-2 font-medium" />
          </tr>
        </thead>
        <tbody>
          {shown.map((p) => (
            <tr key={p.id} className="border-t border-slate-100 align-top" data-testid="phrase-row" data-shortcut={p.shortcut} data-shared={p.shared ? '1' : '0'}>
              <td className="px-2 py-1 font-mono" translate="no">
                ;{p.shortcut}
                {p.builtin && <span className="ml-1 rounded bg-slate-100 px-1 text-xs text-slate-600">{t('reports.phrases.builtin')}</span>}
              </td>
              <td className="px-2 py-1 whitespace-pre-wrap">{p.text}</td>
              <td className="px-2 py-1">{p.modality ?? t('reports.phrases.any')}</td>
              <td className="px-2 py-1">{p.language ? t(`reports.phrases.languages.${p.language}`) : t('reports.phrases.any')}</td>
              <td className="px-2 py-1 whitespace-nowrap">
                {p.editable && (
                  <>
                    <button type="button" className={`mr-1 ${BUTTON}`} onClick={() => setEditing({ phrase: p })} data-testid="phrase-edit">
                      {t('reports.phrases.edit')}
                    </button>
                    <button type="button" className={`${BUTTON} border-red-300 text-red-700`} onClick={() => void onDelete(p)} data-testid="phrase-delete">
                      {t('reports.phrases.delete')}
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 && (
        <p className="p-6 text-center text-slate-500" data-testid="phrase-empty">
          {t('reports.phrases.empty')}
        </p>
      )}
      {editing && <PhraseDialog phrase={editing.phrase} canShare={hasPermission(me, 'report:template')} onClose={() => setEditing(null)} />}
    </div>
  );
}

function PhraseDialog({ phrase, canShare, onClose }: { phrase: ReportPhrase | null; canShare: boolean; onClose: () => void }) {
  const t = useT();
  const save = useSavePhrase();
  const [shortcut, setShortcut] = useState(phrase?.shortcut ?? '');
  const [text, setText] = useState(phrase?.text ?? '');
  const [modality, setModality] = useState(phrase?.modality ?? '');
  const [language, setLanguage] = useState(phrase?.language ?? '');
  const [shared, setShared] = useState(phrase?.shared ?? false);
  const [err, setErr] = useState<string | null>(null);
  const valid = /^[a-z0-9_]{1,16}$/i.test(shortcut) && text.trim().length > 0 && (!modality || /^[A-Z0-9_ ]{1,16}$/.test(modality));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErr(null);
    const fields = {
      shortcut: shortcut.toLowerCase(),
      text,
      modality: modality || null,
      language: (language || null) as 'zh-CN' | 'en' | null,
    };
    try {
      await save.mutateAsync({ id: phrase?.id ?? null, body: phrase ? fields : { ...fields, shared } });
      onClose();
    } catch (error) {
      setErr(phraseError(t, error));
    }
  };
  return (
    <Modal label={phrase ? t('reports.phrases.edit') : t('reports.phrases.add')} testId="phrase-dialog" onClose={onClose}>
      <form className="space-y-3" onSubmit={(e) => void submit(e)}>
        <Field label={t('reports.phrases.shortcut')}>
          <input className={`${INPUT} font-mono`} value={shortcut} maxLength={16} onChange={(e) => setShortcut(e.target.value)} data-testid="phrase-shortcut" required />
          <span className="text-xs text-slate-500">{t('reports.phrases.shortcutHelp')}</span>
        </Field>
        <Field label={t('reports.phrases.text')}>
          <textarea className={INPUT} rows={4} maxLength={4000} value={text} onChange={(e) => setText(e.target.value)} data-testid="phrase-text" required />
        </Field>
        <div className="flex gap-3">
          <Field label={t('reports.phrases.modality')}>
            <input className={INPUT} value={modality} maxLength={16} placeholder="CT" onChange={(e) => setModality(e.target.value.toUpperCase())} data-testid="phrase-modality" />
          </Field>
          <Field label={t('reports.phrases.language')}>
            <select className={INPUT} value={language} onChange={(e) => setLanguage(e.target.value)} data-testid="phrase-language">
              <option value="">{t('reports.phrases.any')}</option>
              <option value="zh-CN">{t('reports.phrases.languages.zh-CN')}</option>
              <option value="en">{t('reports.phrases.languages.en')}</option>
            </select>
          </Field>
        </div>
        {!phrase && canShare && (
          <label className="flex items-center gap-1 text-sm">
            <input type="checkbox" checked={shared} onChange={(e) => setShared(e.target.checked)} data-testid="phrase-shared" />
            {t('reports.phrases.sharedToggle')}
          </label>
        )}
        {err && (
          <p role="alert" className="text-sm text-red-600" data-testid="phrase-dialog-error">
            {err}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <button type="button" className={BUTTON} onClick={onClose}>
            {t('reports.phrases.cancel')}
          </button>
          <button type="submit" className={PRIMARY} disabled={!valid || save.isPending} data-testid="phrase-save">
            {t('reports.phrases.save')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
