import { api } from '@/lib/api/client';
import type { DicomJson } from './imageIds';

const cache = new Map<string, Promise<DicomJson[]>>();

/** A series' WADO-RS metadata (one request), cached; safe to call before Cornerstone loads. */
export function fetchSeriesMetadata(studyUid: string, seriesUid: string): Promise<DicomJson[]> {
  const key = `${studyUid}/${seriesUid}`;
  let p = cache.get(key);
  if (!p) {
    p = api
      .get<DicomJson[]>(
        `/dicom-web/studies/${encodeURIComponent(studyUid)}/series/${encodeURIComponent(seriesUid)}/metadata`,
        { headers: { Accept: 'application/dicom+json' } },
      )
      .then((r) => r.data);
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}
