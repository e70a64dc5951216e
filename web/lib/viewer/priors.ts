/** The patient's other studies (QIDO-RS by Patient ID), newest first, for side-by-side comparison. */
import { api } from '@/lib/api/client';
import { tagString, type DicomJson } from './imageIds';

export interface PriorStudy {
  studyUid: string;
  date: string | null;
  description: string;
  modalities: string[];
}

export async function fetchPatientStudies(patientId: string): Promise<DicomJson[]> {
  const r = await api.get<DicomJson[]>('/dicom-web/studies', {
    params: { PatientID: patientId, limit: 100 },
    headers: { Accept: 'application/dicom+json' },
  });
  return Array.isArray(r.data) ? r.data : [];
}

/** Every study but the one open, newest first (undated last). */
export function priorStudies(rows: DicomJson[], currentUid: string): PriorStudy[] {
  const when = (ds: DicomJson) => `${tagString(ds, '00080020') ?? ''}${tagString(ds, '00080030') ?? ''}`;
  return rows
    .filter((ds) => {
      const uid = tagString(ds, '0020000D');
      return !!uid && uid !== currentUid;
    })
    .sort((a, b) => when(b).localeCompare(when(a)))
    .map((ds) => ({
      studyUid: tagString(ds, '0020000D') ?? '',
      date: tagString(ds, '00080020'),
      description: tagString(ds, '00081030') ?? '',
      modalities: ((ds['00080061']?.Value as string[] | undefined) ?? []).map(String),
    }));
}

/** The index whose slice position is nearest `target`, or -1 when none has a position. */
export function closestIndex(positions: (number | null)[], target: number): number {
  let best = -1;
  let bestDistance = Infinity;
  positions.forEach((p, i) => {
    if (p === null) return;
    const d = Math.abs(p - target);
    if (d < bestDistance) {
      best = i;
      bestDistance = d;
    }
  });
  return best;
}
