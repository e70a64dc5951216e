import { api } from '@/lib/api/client';
import { registerInstance } from './cornerstone';
import { buildStack, type DicomJson, type StackEntry } from './imageIds';

const cache = new Map<string, Promise<StackEntry[]>>();

/** The series' metadata in one request; each frame's image id registered with Cornerstone. */
export function loadSeriesStack(studyUid: string, seriesUid: string): Promise<StackEntry[]> {
  const key = `${studyUid}/${seriesUid}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const { data } = await api.get<DicomJson[]>(
        `/dicom-web/studies/${encodeURIComponent(studyUid)}/series/${encodeURIComponent(seriesUid)}/metadata`,
        { headers: { Accept: 'application/dicom+json' } },
      );
      const base = `${window.location.origin}/dicom-web`;
      const stack = buildStack(base, studyUid, seriesUid, data);
      for (const entry of stack) registerInstance(entry.imageId, entry.instance);
      return stack;
    })();
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}
