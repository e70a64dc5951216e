/**
 * Measurements saved with the study (a DICOM SR on the server, /api/studies/{s}/measurements):
 * Cornerstone annotations to and from the API's form, which has image coordinates.
 *
 * Cornerstone's image coordinates put pixel centres on whole numbers; DICOM's (SR SCOORD)
 * put the top-left corner of the first pixel at 0,0, so a centre is at .5.
 */
import { api } from '@/lib/api/client';
import type { components } from '@/lib/api/schema';
import { calibrationFor, csCore, csTools, MEASUREMENT_TOOLS, TOOL } from './cornerstone';
import { ellipseHandles, fromDicomPoint, measuredValues, parseImageId, toDicomPoint } from './measurementGeometry';
import { loadSeriesStack } from './series';

export type SavedMeasurement = components['schemas']['Measurement'];
export type MeasurementsRead = components['schemas']['MeasurementsRead'];
type Point2 = [number, number];
type Point3 = csCore.Types.Point3;

interface AnnotationData {
  handles?: { points?: Point3[] };
  label?: string;
  cachedStats?: Record<string, Record<string, unknown>>;
}

/** This study's measurements as the API takes them (a prior's stay with the prior). */
export function collectSaved(studyUid: string): SavedMeasurement[] {
  const out: SavedMeasurement[] = [];
  for (const a of csTools.annotation.state.getAllAnnotations()) {
    const tool = a.metadata?.toolName ?? '';
    const imageId = a.metadata?.referencedImageId;
    const ref = parseImageId(imageId);
    const data = a.data as AnnotationData;
    const world = data.handles?.points ?? [];
    if (!MEASUREMENT_TOOLS.includes(tool) || !ref || ref.study !== studyUid || !imageId) continue;
    const points = world.map((p) => toDicomPoint(csCore.utilities.worldToImageCoords(imageId, p) as Point2));
    if (points.length !== (tool === TOOL.angle ? 3 : tool === TOOL.rectangle || tool === TOOL.ellipse ? 4 : 2)) continue;
    const stats = data.cachedStats ? Object.values(data.cachedStats)[0] : undefined;
    out.push({
      tool: tool as SavedMeasurement['tool'],
      series_instance_uid: ref.series,
      sop_instance_uid: ref.sop,
      frame: ref.frame,
      points,
      label: tool === TOOL.arrow ? (data.label ?? '').slice(0, 256) : '',
      values: measuredValues(tool, stats, calibrationFor(imageId).unit === 'mm' ? 'mm' : 'px'),
    });
  }
  return out;
}

export async function fetchSaved(studyUid: string): Promise<MeasurementsRead> {
  return (await api.get<MeasurementsRead>(`/api/studies/${encodeURIComponent(studyUid)}/measurements`)).data;
}

export async function putSaved(studyUid: string, measurements: SavedMeasurement[]): Promise<MeasurementsRead> {
  const url = `/api/studies/${encodeURIComponent(studyUid)}/measurements`;
  return (await api.put<MeasurementsRead>(url, { measurements })).data;
}

interface ImagePlane {
  frameOfReferenceUID?: string;
  rowCosines?: number[];
  columnCosines?: number[];
}

function cross(a: number[], b: number[]): Point3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

/**
 * Put saved measurements back as annotations on their images (each series' metadata is
 * fetched, and registered, first). Ids are fixed per saved object, so running twice adds
 * nothing twice. Returns how many were added.
 */
export async function restoreSaved(studyUid: string, saved: MeasurementsRead): Promise<number> {
  const imageIds = new Map<string, string>();
  for (const series of new Set(saved.measurements.map((m) => m.series_instance_uid))) {
    try {
      for (const entry of await loadSeriesStack(studyUid, series)) {
        const ref = parseImageId(entry.imageId);
        if (ref) imageIds.set(`${ref.sop}/${ref.frame}`, entry.imageId);
      }
    } catch {
      /* a series gone since: its measurements cannot be placed */
    }
  }
  let added = 0;
  saved.measurements.forEach((m, i) => {
    const imageId = imageIds.get(`${m.sop_instance_uid}/${m.frame ?? 1}`);
    const uid = `saved-${saved.sop_instance_uid}-${i}`;
    if (!imageId || csTools.annotation.state.getAnnotation(uid)) return;
    const plane = (csCore.metaData.get('imagePlaneModule', imageId) ?? {}) as ImagePlane;
    const image = m.points.map((p) => fromDicomPoint(p));
    const ordered = m.tool === TOOL.ellipse ? ellipseHandles(image) : image;
    const points = ordered.map((p) => csCore.utilities.imageToWorldCoords(imageId, p) as Point3);
    const zero: Point3 = [0, 0, 0];
    csTools.annotation.state.addAnnotation(
      {
        annotationUID: uid,
        highlighted: false,
        invalidated: true, // statistics are computed again on the first render
        isLocked: false,
        isVisible: true,
        metadata: {
          toolName: m.tool,
          referencedImageId: imageId,
          // The group key: the same as an enabled element's for this image (none: undefined).
          FrameOfReferenceUID: plane.frameOfReferenceUID,
          viewPlaneNormal: cross(plane.columnCosines ?? [0, 1, 0], plane.rowCosines ?? [1, 0, 0]),
        },
        data: {
          label: m.label ?? '',
          cachedStats: {},
          handles: {
            points,
            activeHandleIndex: null,
            textBox: {
              hasMoved: false,
              worldPosition: zero,
              worldBoundingBox: { topLeft: zero, topRight: zero, bottomLeft: zero, bottomRight: zero },
            },
          },
        },
      } as unknown as csTools.Types.Annotation,
      undefined as unknown as string,
    );
    added += 1;
  });
  return added;
}
