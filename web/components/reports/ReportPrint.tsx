'use client';

import { useLocale, useT } from '@/lib/i18n';
import { errorText, usePrintFacts } from '@/lib/reports/pageQueries';
import { useReport, useVerify } from '@/lib/reports/queries';
import { SECTIONS } from '@/lib/reports/types';
import { ReportLinks } from './ReportLinks';

const SIGNED = ['final', 'appended', 'corrected'];

/** The report as one clean A4 page; the toolbar and the app's header are not printed. */
export function ReportPrint({ reportId }: { reportId: string }) {
  const t = useT();
  const locale = useLocale((s) => s.locale);
  const report = useReport(reportId);
  const facts = usePrintFacts(reportId, locale);
  const signed = !!report.data && SIGNED.includes(report.data.status);
  const verify = useVerify(reportId, signed);

  const failure = report.error ?? facts.error;
  if (failure) return <p role="alert" className="p-8 text-red-600" data-testid="print-error">{errorText(t, failure)}</p>;
  if (!report.data || !facts.data) return <p className="p-8 text-slate-500">{t('common.loading')}</p>;
  const r = report.data;
  const f = facts.data;
  const addenda = (r.addenda ?? []) as { text?: string; at?: string }[];
  const cell = (label: string, value: string, testId?: string) => (
    <>
      <th className="pr-2 text-left font-normal whitespace-nowrap text-slate-600">{label}</th>
      <td className="pr-4" data-testid={testId} translate="no">{value || '—'}</td>
    </>
  );

  return (
    <div className="h-full overflow-auto bg-slate-200 py-4 print:h-auto print:overflow-visible print:bg-white print:py-0">
      <div className="mx-auto mb-3 flex w-[210mm] max-w-full items-center gap-2 print:hidden">
        <button type="button" onClick={() => window.print()} className="rounded bg-sky-700 px-3 py-1 text-sm text-white hover:bg-sky-800" data-testid="print-button">
          {t('reports.print.print')}
        </button>
        <ReportLinks reportId={reportId} except="print" className="text-sky-700" />
        {!signed && <span className="text-sm text-amber-700">{t('reports.print.notFinal')}</span>}
      </div>
      <article className="print-page mx-auto min-h-[297mm] w-[210mm] max-w-full bg-white p-[16mm] text-[10.5pt] text-black shadow print:min-h-0 print:w-auto print:p-0 print:shadow-none" data-testid="print-page" lang={locale}>
        <header className="border-b-2 border-black pb-2">
          {f.hospital_name && <div data-testid="print-hospital" translate="no">{f.hospital_name}</div>}
          <h1 className="text-[16pt] font-bold">{t('reports.print.title')}</h1>
        </header>
        <table className="mt-3 w-full border-collapse text-[10pt]" data-testid="print-patient">
          <tbody>
            <tr>
              {cell(t('reports.print.name'), f.patient_name, 'print-patient-name')}
              {cell(t('reports.print.sex'), f.sex)}
              {cell(t('reports.print.age'), f.age)}
            </tr>
            <tr>
              {cell(t('reports.print.patientId'), f.patient_id)}
              {cell(t('reports.print.accession'), f.accession)}
              {cell(t('reports.print.studyDate'), f.study_date)}
            </tr>
            <tr>
              {cell(t('reports.print.modality'), f.modality)}
              {cell(t('reports.print.description'), f.description)}
              {cell(t('reports.print.status'), t(`reports.status.${r.status}`))}
            </tr>
          </tbody>
        </table>
        {SECTIONS.filter((s) => r[s]).map((s) => (
          <section key={s} className="mt-4 break-inside-avoid-page">
            <h2 className="text-[12pt] font-bold">{t(`reports.sections.${s}`)}</h2>
            <p className="whitespace-pre-wrap" data-testid={`print-${s}`}>{r[s]}</p>
          </section>
        ))}
        {addenda.length > 0 && (
          <section className="mt-4" data-testid="print-addenda">
            <h2 className="text-[12pt] font-bold">{t('reports.addenda')}</h2>
            {addenda.map((a, i) => (
              <p key={i} className="whitespace-pre-wrap">
                {a.at ? `${new Date(a.at).toLocaleString()} — ` : ''}
                {a.text}
              </p>
            ))}
          </section>
        )}
        <footer className="mt-8 border-t border-black pt-2 text-[10pt]" data-testid="print-signature">
          {f.signer ? (
            <>
              <p className="font-bold">{t('reports.print.eSignature')}</p>
              <p>
                {t('reports.print.signer')}: <span translate="no">{f.signer}</span>
                {'　'}
                {t('reports.print.signedAt')}: {f.signed_at ? new Date(f.signed_at).toLocaleString() : '—'}
                {'　'}
                {t('reports.print.keyId')}: <span translate="no">{f.key_id}</span>
              </p>
              {verify.data && (
                <p data-testid="print-verify" data-valid={String(verify.data.valid)}>
                  {verify.data.valid ? `✓ ${t('reports.print.verified')}` : `✗ ${t('reports.signature.invalid')}`}
                </p>
              )}
            </>
          ) : (
            <p>{t('reports.print.unsigned')}</p>
          )}
        </footer>
      </article>
    </div>
  );
}
