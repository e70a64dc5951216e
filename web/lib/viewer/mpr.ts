/**
 * MPR: one streaming image volume shown in three orthographic volume viewports (axial, sagittal,
 * coronal) linked by crosshairs, with a thick-slab MIP / MinIP / average. Browser only.
 *
 * The stack viewer draws with Cornerstone's CPU renderer where WebGL is emulated in software
 * (cornerstone.ts), but volume viewports exist only on the WebGL path. So MPR has its own
 * rendering engine, made (with its viewports) while CPU rendering is switched off for that
 * moment; the stack engine's viewports keep their renderer and stay as they were, under the MPR
 * panes, so that leaving MPR shows them again unchanged.
 */
import { csCore, csTools } from './cornerstone';
import type { SlabMode } from './volume';

export const MPR_ENGINE_ID = 'hf-mpr-engine';
export const MPR_TOOL_GROUP_ID = 'hf-mpr-tools';
export const MPR_PLANES = ['axial', 'sagittal', 'coronal'] as const;
export type MprPlane = (typeof MPR_PLANES)[number];

export function mprViewportId(plane: MprPlane): string {
  return `hf-mpr-${plane}`;
}

const ORIENTATION: Record<MprPlane, csCore.Enums.OrientationAxis> = {
  axial: csCore.Enums.OrientationAxis.AXIAL,
  sagittal: csCore.Enums.OrientationAxis.SAGITTAL,
  coronal: csCore.Enums.OrientationAxis.CORONAL,
};

const BLEND: Record<SlabMode, csCore.Enums.BlendModes> = {
  mip: csCore.Enums.BlendModes.MAXIMUM_INTENSITY_BLEND,
  minip: csCore.Enums.BlendModes.MINIMUM_INTENSITY_BLEND,
  average: csCore.Enums.BlendModes.AVERAGE_INTENSITY_BLEND,
};

let registered = false;
// Each openMpr and closeMpr starts a new generation: an open overtaken by another stops.
let generation = 0;

function registerOnce(): void {
  if (registered) return;
  registered = true;
  csCore.volumeLoader.registerVolumeLoader(
    'cornerstoneStreamingImageVolume',
    csCore.cornerstoneStreamingImageVolumeLoader as unknown as csCore.Types.VolumeLoaderFn,
  );
  csTools.addTool(csTools.CrosshairsTool);
}

export function mprEngine(): csCore.RenderingEngine | undefined {
  return csCore.getRenderingEngine(MPR_ENGINE_ID) as csCore.RenderingEngine | undefined;
}

export function mprViewport(plane: MprPlane): csCore.VolumeViewport | null {
  const vp = mprEngine()?.getViewport(mprViewportId(plane));
  return vp instanceof csCore.VolumeViewport ? vp : null;
}

/** The volume's id for a series: one cached volume per series. */
export function volumeIdFor(seriesUid: string): string {
  return `cornerstoneStreamingImageVolume:${seriesUid}`;
}

/**
 * Show the series' images as a volume in the three elements; resolves when the viewports have
 * their volume (its slices then stream in and each arrival is drawn).
 */
export async function openMpr(elements: Record<MprPlane, HTMLDivElement>, seriesUid: string, imageIds: string[]): Promise<void> {
  registerOnce();
  closeMpr();
  const mine = generation;
  const wasCpu = csCore.getShouldUseCPURendering();
  let engine: csCore.RenderingEngine;
  // Only for these synchronous calls: the stack viewports never see the flag changed.
  csCore.setUseCPURendering(false, false);
  try {
    engine = new csCore.RenderingEngine(MPR_ENGINE_ID);
    engine.setViewports(
      MPR_PLANES.map((plane) => ({
        viewportId: mprViewportId(plane),
        type: csCore.Enums.ViewportType.ORTHOGRAPHIC,
        element: elements[plane],
        defaultOptions: { orientation: ORIENTATION[plane], background: [0, 0, 0] as csCore.Types.Point3 },
      })),
    );
  } finally {
    csCore.setUseCPURendering(wasCpu, false);
  }
  const group = csTools.ToolGroupManager.createToolGroup(MPR_TOOL_GROUP_ID);
  if (!group) throw new Error('MPR tool group');
  const { MouseBindings } = csTools.Enums;
  group.addTool(csTools.CrosshairsTool.toolName, {
    // Each pane's line colour is the colour of that pane's own marker.
    getReferenceLineColor: (viewportId: string) =>
      ({ [mprViewportId('axial')]: 'rgb(200, 0, 0)', [mprViewportId('sagittal')]: 'rgb(200, 200, 0)', [mprViewportId('coronal')]: 'rgb(0, 200, 0)' })[viewportId],
    getReferenceLineControllable: () => true,
    getReferenceLineDraggableRotatable: () => true,
    getReferenceLineSlabThicknessControlsOn: () => false,
  });
  group.addTool(csTools.PanTool.toolName);
  group.addTool(csTools.ZoomTool.toolName);
  group.addTool(csTools.StackScrollTool.toolName);
  group.addTool(csTools.WindowLevelTool.toolName);
  for (const plane of MPR_PLANES) group.addViewport(mprViewportId(plane), MPR_ENGINE_ID);

  const volumeId = volumeIdFor(seriesUid);
  const volume = await csCore.volumeLoader.createAndCacheVolume(volumeId, { imageIds });
  if (generation !== mine) return; // closed meanwhile
  (volume as unknown as { load: () => void }).load();
  await csCore.setVolumesForViewports(engine, [{ volumeId }], MPR_PLANES.map(mprViewportId));
  if (generation !== mine) return;
  // Crosshairs need the viewports' volume (their centre) before they go active.
  group.setToolActive(csTools.CrosshairsTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
  group.setToolActive(csTools.WindowLevelTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary, modifierKey: csTools.Enums.KeyboardBindings.Shift }] });
  group.setToolActive(csTools.PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
  group.setToolActive(csTools.ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
  group.setToolActive(csTools.StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  engine.render();
}

/** A slab of `thicknessMm` (0: one slice) in `mode`, in all three planes. */
export function setSlab(mode: SlabMode, thicknessMm: number): void {
  const engine = mprEngine();
  if (!engine) return;
  for (const plane of MPR_PLANES) {
    const vp = mprViewport(plane);
    if (!vp) continue;
    vp.setBlendMode(thicknessMm > 0 ? BLEND[mode] : csCore.Enums.BlendModes.COMPOSITE);
    vp.setSlabThickness(Math.max(thicknessMm, 0.05));
  }
  engine.render();
}

/** The volume's extent along its longest side (mm): the thickest slab worth offering. */
export function volumeExtent(seriesUid: string): number {
  const volume = csCore.cache.getVolume(volumeIdFor(seriesUid));
  if (!volume) return 0;
  const { dimensions, spacing } = volume;
  return Math.max(dimensions[0] * spacing[0], dimensions[1] * spacing[1], dimensions[2] * spacing[2]);
}

export function resizeMpr(): void {
  try {
    mprEngine()?.resize(true, false);
  } catch {
    /* destroyed meanwhile */
  }
}

/** Tear MPR down: tool group, engine (its viewports); the volume stays cached for a return. */
export function closeMpr(): void {
  generation += 1;
  try {
    csTools.ToolGroupManager.destroyToolGroup(MPR_TOOL_GROUP_ID);
  } catch {
    /* none */
  }
  try {
    mprEngine()?.destroy();
  } catch {
    /* none */
  }
}
