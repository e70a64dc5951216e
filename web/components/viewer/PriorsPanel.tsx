'use client';

import { useQuery } from '@tanstack/react-query';
import { displayDate } from '@/lib/dates';
import { useT } from '@/lib/i18n';
import { fetchPatientStudies, priorStudies } from '@/lib/viewer/priors';

/** The patient's other studies, newest first; one click opens it beside the current one. */
export function PriorsPanel({
  patientId,
  currentUid,
  comparing,
  onOpen,
}: {
  patientId: string;
  currentUid: string;
  comparing: string | null;
  onOpen: (studyUid: string | null) => void;
}) {
  const t = useT();
  const { data, isLoading, error } = useQuery({
    queryKey: ['patient-studies', patientId],
    queryFn: () => fetchPatientStudies(patientId),
    enabled: !!patientId,
  });
  const priors = data ? priorStudies(data, currentUid) : [];
  return (
    <section data-testid="panel-priors">
      <h2 className="mb-1 text-xs font-semibold tracking-wide text-neutral-400 uppercase">{t('viewer.priors.title')}</h2>
      {isLoading && <p className="text-xs text-neutral-500">{t('common.loading')}</p>}
      {error && <p className="text-xs text-red-400">{t('viewer.priors.failed')}</p>}
      {data && priors.length === 0 && <p className="text-xs text-neutral-500">{t('viewer.priors.none')}</p>}
      <ul className="space-y-1">
        {priors.map((p) => (
          <li key={p.studyUid}>
            <button
              type="button"
              data-testid="prior-study"
              data-study={p.studyUid}
              onClick={() => onOpen(comparing === p.studyUid ? null : p.studyUid)}
              className={`w-full rounded px-1.5 py-1 text-left text-xs ${comparing === p.studyUid ? 'bg-sky-800 text-white' : 'hover:bg-neutral-800'}`}
              title={comparing === p.studyUid ? t('viewer.priors.close') : t('viewer.priors.open')}
            >
              <span className="mr-2 tabular-nums">{p.date ? displayDate(p.date) : '-'}</span>
              <span className="mr-2 text-neutral-400">{p.modalities.join('/')}</span>
              <span className="truncate">{p.description}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
