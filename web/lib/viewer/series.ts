import { registerInstance } from './cornerstone';
import { buildStack, type StackEntry } from './imageIds';
import { fetchSeriesMetadata } from './metadata';

const cache = new Map<string, Promise<StackEntry[]>>();

/** The series' metadata in one request; each frame's image id registered with Cornerstone. */
export function loadSeriesStack(studyUid: string, seriesUid: string): Promise<StackEntry[]> {
  const key = `${studyUid}/${seriesUid}`;
  let p = cache.get(key);
  if (!p) {
    p = fetchSeriesMetadata(studyUid, seriesUid).then((instances) => {
      const stack = buildStack(`${window.location.origin}/dicom-web`, studyUid, seriesUid, instances);
      for (const entry of stack) registerInstance(entry.imageId, entry.instance);
      return stack;
    });
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}
