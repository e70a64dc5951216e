import { csCore, csTools, MEASUREMENT_TOOLS } from '@/lib/viewer/cornerstone';
import { keyImageFrom } from '@/lib/reports/keyImage';
import type { KeyImage } from '@/lib/reports/types';

type Stats = Record<string, unknown>;

/** The viewport's current frame as a key image: instance, frame, W/L and the measurements on it. */
export function captureKeyImage(vp: csCore.StackViewport | null): KeyImage | null {
  if (!vp) return null;
  const imageId = vp.getCurrentImageId();
  if (!imageId) return null;
  const measurements = csTools.annotation.state
    .getAllAnnotations()
    .filter((a) => a.metadata?.referencedImageId === imageId && MEASUREMENT_TOOLS.includes(a.metadata?.toolName ?? ''))
    .map((a) => {
      const data = a.data as { cachedStats?: Record<string, Stats>; label?: string };
      const stats = data.cachedStats ? Object.values(data.cachedStats)[0] : undefined;
      const numbers = Object.fromEntries(Object.entries(stats ?? {}).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)));
      return { tool: a.metadata?.toolName ?? '', ...(data.label ? { label: data.label } : {}), ...numbers };
    });
  return keyImageFrom(imageId, vp.getProperties().voiRange, measurements);
}
