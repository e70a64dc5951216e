'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import { hasPermission, useSession } from '@/lib/auth/store';
import { useLocale, useT, type TFunction } from '@/lib/i18n';
import { expandShortcut, insertAt, isExpandKey, type Edit } from '@/lib/reports/phrases';
import { createReport, downloadBlob, fetchPdf, usePhrases, useStudyReports, useTemplates, useTransition, useVerify } from '@/lib/reports/queries';
import { SECTIONS, type KeyImage, type Report, type ReportTemplate, type Section } from '@/lib/reports/types';
import { AiFindingsPicker } from './AiFindingsPicker';
import { PhrasePicker } from './PhrasePicker';
import { ReportLinks } from './ReportLinks';
import { useAutosave, type SaveState } from './useAutosave';

const SIGNED = ['final', 'appended', 'corrected'];

/** A server error in the user's words: known codes from the catalogue, else the server's message. */
function say(t: TFunction, err: unknown): string {
  const info = describeError(err);
  const known = errorMessage(t, info);
  return known.includes(info.code) && info.message ? info.message : known;
}

const label = 'mb-0.5 block text-[11px] text-neutral-400';
const input = 'w-full rounded bg-neutral-800 px-1.5 py-1 text-xs text-neutral-100 disabled:opacity-70';
const button = 'rounded bg-sky-700 px-2 py-1 text-xs text-white hover:bg-sky-600 disabled:opacity-50';

/**
 * The report beside the images: pick a template, write the sections and structured fields,
 * insert key images from the viewport; autosaved (kept locally until the server has it);
 * submit, approve and amend as the user's permissions allow.
 */
export function ReportEditor({
  studyUid,
  modality,
  captureKeyImage,
}: {
  studyUid: string;
  modality: string | undefined;
  captureKeyImage: () => KeyImage | null;
}) {
  const t = useT();
  const me = useSession((s) => s.me);
  const canRead = hasPermission(me, 'report:read');
  const canWrite = hasPermission(me, 'report:write');
  const { data, error, refetch } = useStudyReports(studyUid, canRead);
  const [chosen, setChosen] = useState<string | null>(null);
  if (!canRead) return null;
  if (error) return <p className="text-xs text-red-400">{say(t, error)}</p>;
  if (!data) return <p className="text-xs text-neutral-500">{t('common.loading')}</p>;
  const reports = data.items;
  const current = reports.find((r) => r.id === chosen) ?? reports.find((r) => r.status !== 'cancelled') ?? null;
  return (
    <div className="space-y-2" data-testid="report-editor">
      {reports.length > 1 && (
        <select
          className={input}
          value={current?.id ?? ''}
          onChange={(e) => setChosen(e.target.value)}
          aria-label={t('reports.choose')}
          data-testid="report-choose"
        >
          {reports.map((r) => (
            <option key={r.id} value={r.id}>
              {t(`reports.status.${r.status}`)} · {new Date(r.created_at).toLocaleString()}
            </option>
          ))}
        </select>
      )}
      {current ? (
        <OpenReport key={current.id} report={current} modality={modality} captureKeyImage={captureKeyImage} />
      ) : canWrite ? (
        <NewReport studyUid={studyUid} modality={modality} onCreated={(r) => {
          setChosen(r.id);
          void refetch();
        }} />
      ) : (
        <p className="text-xs text-neutral-500">{t('reports.none')}</p>
      )}
    </div>
  );
}

function NewReport({ studyUid, modality, onCreated }: { studyUid: string; modality: string | undefined; onCreated: (r: Report) => void }) {
  const t = useT();
  const locale = useLocale((s) => s.locale);
  const { data: templates } = useTemplates(modality, locale);
  const fitting = (templates ?? []).filter((x) => !modality || !x.modality || x.modality === modality);
  const others = (templates ?? []).filter((x) => !fitting.includes(x));
  const [templateId, setTemplateId] = useState('');
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const create = async () => {
    setBusy(true);
    setErr(null);
    try {
      onCreated(await createReport(studyUid, templateId || null));
    } catch (e) {
      setErr(say(t, e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="space-y-1.5">
      <label className={label} htmlFor="report-template">
        {t('reports.template')}
      </label>
      <select id="report-template" className={input} value={templateId} onChange={(e) => setTemplateId(e.target.value)} data-testid="report-template">
        <option value="">{t('reports.noTemplate')}</option>
        {[...fitting, ...others].map((x) => (
          <option key={x.id} value={x.id}>
            {x.name}
          </option>
        ))}
      </select>
      <button type="button" className={button} disabled={busy} onClick={() => void create()} data-testid="report-new">
        {t('reports.new')}
      </button>
      {err && <p className="text-xs text-red-400" role="alert">{err}</p>}
    </div>
  );
}

function SaveIndicator({ state }: { state: SaveState }) {
  const t = useT();
  const colour = { saved: 'text-emerald-400', pending: 'text-neutral-400', saving: 'text-neutral-400', offline: 'text-amber-400', error: 'text-red-400' }[state];
  return (
    <span className={`text-[11px] ${colour}`} data-testid="report-save-state" data-state={state}>
      {t(`reports.save.${state}`)}
    </span>
  );
}

function OpenReport({ report: initial, modality, captureKeyImage }: { report: Report; modality: string | undefined; captureKeyImage: () => KeyImage | null }) {
  const t = useT();
  const client = useQueryClient();
  const locale = useLocale((s) => s.locale);
  const me = useSession((s) => s.me);
  const [report, setReport] = useState(initial);
  const isAuthor = me?.id === report.author_id;
  const canApprove = hasPermission(me, 'report:approve');
  const editable =
    (report.status === 'draft' && isAuthor && hasPermission(me, 'report:write')) || (report.status === 'preliminary' && canApprove);
  const { content, update, state, error: saveError, flush } = useAutosave(report, editable, setReport);
  const { data: templates } = useTemplates(modality, locale);
  const template: ReportTemplate | undefined = templates?.find((x) => x.id === report.template_id);
  const signed = SIGNED.includes(report.status);
  const { data: verify } = useVerify(report.id, signed);
  const transition = useTransition();
  const [err, setErr] = useState<string | null>(null);
  const [amending, setAmending] = useState(false);
  const [note, setNote] = useState<string | null>(null);

  const act = async (action: 'submit' | 'approve' | 'amend', body?: object) => {
    setErr(null);
    try {
      if (editable) await flush();
      const next = await transition.mutateAsync({ id: report.id, action, body });
      setReport(next);
      setAmending(false);
      void client.invalidateQueries({ queryKey: ['reports', 'study', report.study_instance_uid] });
    } catch (e) {
      setErr(say(t, e));
    }
  };
  const insertKeyImage = () => {
    const k = captureKeyImage();
    if (!k) {
      setNote(t('reports.keyImages.none'));
      return;
    }
    setNote(null);
    update({ key_images: [...content.key_images, k] });
  };
  const pdf = async () => {
    try {
      downloadBlob(await fetchPdf(report.id), `report-${report.id}.pdf`);
    } catch (e) {
      setErr(say(t, e));
    }
  };
  const phrases = usePhrases(modality, editable).data ?? [];
  const sectionRefs = useRef<Partial<Record<Section, HTMLTextAreaElement | null>>>({});
  const [lastSection, setLastSection] = useState<Section>('findings');
  const caretAfter = useRef<{ section: Section; caret: number } | null>(null);
  useLayoutEffect(() => {
    // After an expansion or an insertion has re-rendered the text: the caret after it.
    const pending = caretAfter.current;
    if (!pending) return;
    caretAfter.current = null;
    const el = sectionRefs.current[pending.section];
    el?.focus();
    el?.setSelectionRange(pending.caret, pending.caret);
  });
  // Through `update`, like typing: autosaved and kept locally until the server has it.
  const applyEdit = (section: Section, edit: Edit) => {
    caretAfter.current = { section, caret: edit.caret };
    update({ [section]: edit.text });
  };
  const expandOnKey = (section: Section, e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (!isExpandKey(e.key) || e.nativeEvent.isComposing || e.ctrlKey || e.metaKey || e.altKey) return;
    const el = e.currentTarget;
    if (el.selectionStart !== el.selectionEnd) return;
    const edit = expandShortcut(el.value, el.selectionStart, phrases);
    if (!edit) return;
    e.preventDefault();
    applyEdit(section, edit);
  };
  const insertPhrase = (text: string) => {
    const el = sectionRefs.current[lastSection];
    const current = content[lastSection];
    const start = el?.selectionStart ?? current.length;
    applyEdit(lastSection, insertAt(current, start, el?.selectionEnd ?? start, text));
  };
  // An accepted AI finding goes into the findings: at the caret when the findings were the
  // section last written in, else at their end on a line of its own; the same path as a phrase.
  const insertFinding = (text: string) => {
    const current = content.findings;
    const el = sectionRefs.current.findings;
    if (lastSection === 'findings' && el) {
      applyEdit('findings', insertAt(current, el.selectionStart, el.selectionEnd, text));
      return;
    }
    const sep = current && !current.endsWith('\n') ? '\n' : '';
    applyEdit('findings', insertAt(current, current.length, current.length, sep + text));
  };
  const fields = (template?.fields ?? []) as { key: string; label: string; type: string; options?: string[]; unit?: string }[];

  return (
    <div className="space-y-2" data-testid="report-open" data-status={report.status}>
      <div className="flex items-center justify-between">
        <span className="rounded bg-neutral-800 px-1.5 py-0.5 text-[11px]" data-testid="report-status">
          {t(`reports.status.${report.status}`)}
        </span>
        {editable && <SaveIndicator state={state} />}
      </div>
      <div className="relative flex items-center justify-between">
        <span className="text-[11px] text-neutral-500">{template?.name}</span>
        {editable && (
          <div className="flex items-center gap-2">
            <AiFindingsPicker studyUid={report.study_instance_uid} onPick={insertFinding} />
            <PhrasePicker phrases={phrases} onPick={insertPhrase} />
          </div>
        )}
      </div>
      {SECTIONS.map((s) => (
        <div key={s}>
          <label className={label} htmlFor={`report-${s}`}>
            {t(`reports.sections.${s}`)}
          </label>
          <textarea
            id={`report-${s}`}
            data-testid={`report-${s}`}
            ref={(el) => {
              sectionRefs.current[s] = el;
            }}
            className={`${input} min-h-16`}
            rows={s === 'findings' ? 6 : 3}
            value={content[s]}
            disabled={!editable}
            onChange={(e) => update({ [s]: e.target.value })}
            onKeyDown={(e) => expandOnKey(s, e)}
            onFocus={() => setLastSection(s)}
          />
        </div>
      ))}
      {fields.length > 0 && (
        <fieldset className="space-y-1" data-testid="report-fields">
          <legend className={label}>{t('reports.structured')}</legend>
          {fields.map((f) => {
            const value = content.structured[f.key];
            const set = (v: string | number | null) => update({ structured: { ...content.structured, [f.key]: v } });
            return (
              <label key={f.key} className="flex items-center gap-1 text-[11px] text-neutral-300">
                <span className="w-24 shrink-0 truncate" title={f.label}>
                  {f.label}
                </span>
                {f.type === 'choice' ? (
                  <select className={input} value={String(value ?? '')} disabled={!editable} onChange={(e) => set(e.target.value || null)} data-testid={`field-${f.key}`}>
                    <option value="" />
                    {(f.options ?? []).map((o) => (
                      <option key={o}>{o}</option>
                    ))}
                  </select>
                ) : (
                  <input
                    className={input}
                    type={f.type === 'text' ? 'text' : 'number'}
                    value={value === null || value === undefined ? '' : String(value)}
                    disabled={!editable}
                    data-testid={`field-${f.key}`}
                    onChange={(e) => set(e.target.value === '' ? null : f.type === 'text' ? e.target.value : Number(e.target.value))}
                  />
                )}
                {f.unit && <span className="shrink-0 text-neutral-500">{f.unit}</span>}
              </label>
            );
          })}
        </fieldset>
      )}
      <div>
        <div className="flex items-center justify-between">
          <span className={label}>{t('reports.keyImages.title', { n: content.key_images.length })}</span>
          {editable && (
            <button type="button" className="text-[11px] text-sky-400 hover:underline" onClick={insertKeyImage} data-testid="report-insert-key-image">
              {t('reports.keyImages.insert')}
            </button>
          )}
        </div>
        <ul className="space-y-0.5" data-testid="report-key-images">
          {content.key_images.map((k, i) => (
            <li key={`${k.sop_instance_uid}-${k.frame}-${i}`} className="flex justify-between text-[11px] text-neutral-300" data-testid="report-key-image">
              <span className="truncate">
                {t('reports.keyImages.item', { n: i + 1, frame: k.frame ?? 1 })}
                {k.window_width ? ` W${Math.round(k.window_width)}/L${Math.round(k.window_center ?? 0)}` : ''}
                {k.measurements && k.measurements.length > 0 ? ` · ${k.measurements.length} ${t('reports.keyImages.measurements')}` : ''}
              </span>
              {editable && (
                <button type="button" className="text-red-400" aria-label={t('reports.remove')} onClick={() => update({ key_images: content.key_images.filter((_, j) => j !== i) })}>
                  ×
                </button>
              )}
            </li>
          ))}
        </ul>
        {note && <p className="text-[11px] text-amber-400">{note}</p>}
      </div>
      {(report.addenda ?? []).length > 0 && (
        <div data-testid="report-addenda">
          <span className={label}>{t('reports.addenda')}</span>
          {(report.addenda as { text?: string; reason?: string }[]).map((a, i) => (
            <p key={i} className="text-[11px] whitespace-pre-wrap text-neutral-300">
              {a.text} {a.reason ? `(${a.reason})` : ''}
            </p>
          ))}
        </div>
      )}
      {signed && verify && (
        <p className={`text-[11px] ${verify.valid ? 'text-emerald-400' : 'text-red-400'}`} data-testid="report-signature" data-valid={String(verify.valid)}>
          {verify.valid ? t('reports.signature.valid', { key: verify.key_id ?? '' }) : t('reports.signature.invalid')}
          {verify.signed_at ? ` · ${new Date(verify.signed_at).toLocaleString()}` : ''}
        </p>
      )}
      {saveError && <p className="text-xs text-red-400" role="alert">{saveError}</p>}
      {err && (
        <p className="text-xs text-red-400" role="alert" data-testid="report-error">
          {err}
        </p>
      )}
      <div className="flex flex-wrap gap-1">
        {report.status === 'draft' && isAuthor && hasPermission(me, 'report:write') && (
          <button type="button" className={button} disabled={transition.isPending} onClick={() => void act('submit')} data-testid="report-submit">
            {t('reports.actions.submit')}
          </button>
        )}
        {report.status === 'preliminary' && canApprove && (
          <button type="button" className={button} disabled={transition.isPending} onClick={() => void act('approve')} data-testid="report-approve">
            {t('reports.actions.approve')}
          </button>
        )}
        {signed && canApprove && !amending && (
          <button type="button" className={button} onClick={() => setAmending(true)} data-testid="report-amend">
            {t('reports.actions.amend')}
          </button>
        )}
        <button type="button" className="rounded px-2 py-1 text-xs text-sky-400 hover:bg-neutral-800" onClick={() => void pdf()} data-testid="report-pdf">
          {t('reports.actions.pdf')}
        </button>
        <ReportLinks reportId={report.id} />
      </div>
      {amending && <AmendForm busy={transition.isPending} onCancel={() => setAmending(false)} onSubmit={(body) => void act('amend', body)} />}
    </div>
  );
}

function AmendForm({ busy, onSubmit, onCancel }: { busy: boolean; onSubmit: (body: object) => void; onCancel: () => void }) {
  const t = useT();
  const [kind, setKind] = useState<'addendum' | 'correction'>('addendum');
  const [reason, setReason] = useState('');
  const [text, setText] = useState('');
  return (
    <form
      className="space-y-1 rounded border border-neutral-700 p-2"
      data-testid="report-amend-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit(kind === 'addendum' ? { kind, reason, addendum: text } : { kind, reason, impression: text });
      }}
    >
      <select className={input} value={kind} onChange={(e) => setKind(e.target.value as 'addendum' | 'correction')} aria-label={t('reports.amend.kind')}>
        <option value="addendum">{t('reports.amend.addendum')}</option>
        <option value="correction">{t('reports.amend.correction')}</option>
      </select>
      <input className={input} required value={reason} onChange={(e) => setReason(e.target.value)} placeholder={t('reports.amend.reason')} data-testid="report-amend-reason" />
      <textarea
        className={input}
        rows={3}
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder={kind === 'addendum' ? t('reports.amend.addendumText') : t('reports.amend.correctedImpression')}
        data-testid="report-amend-text"
      />
      <div className="flex gap-1">
        <button type="submit" className={button} disabled={busy || !reason.trim()} data-testid="report-amend-submit">
          {t('reports.actions.sign')}
        </button>
        <button type="button" className="px-2 py-1 text-xs text-neutral-400" onClick={onCancel}>
          {t('reports.cancel')}
        </button>
      </div>
    </form>
  );
}
