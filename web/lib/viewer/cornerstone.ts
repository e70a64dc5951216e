/**
 * Cornerstone3D set-up, once per page: core, image loader (bearer header on every request),
 * tools. Browser only: imported from the client-only viewer.
 */
import * as csCore from '@cornerstonejs/core';
import dicomImageLoader from '@cornerstonejs/dicom-image-loader';
import { utilities as metadataUtilities } from '@cornerstonejs/metadata';
import * as csTools from '@cornerstonejs/tools';
import { authHeader } from '@/lib/api/client';
import type { DicomJson } from './imageIds';
import { calibrationOf, measurementLines, UNCALIBRATED, type Calibration, type Translate } from './measurementText';
import { isSoftwareRenderer } from './rendering';

export const ENGINE_ID = 'hf-engine';
export const TOOL_GROUP_ID = 'hf-tools';

export const TOOL = {
  windowLevel: csTools.WindowLevelTool.toolName,
  pan: csTools.PanTool.toolName,
  zoom: csTools.ZoomTool.toolName,
  stackScroll: csTools.StackScrollTool.toolName,
  length: csTools.LengthTool.toolName,
  angle: csTools.AngleTool.toolName,
  rectangle: csTools.RectangleROITool.toolName,
  ellipse: csTools.EllipticalROITool.toolName,
  arrow: csTools.ArrowAnnotateTool.toolName,
} as const;

export type PrimaryTool = keyof typeof TOOL;

/** Whether a viewport shows an image (a stack still loading has none, nor a camera yet). */
function showsImage(viewport: unknown): boolean {
  return !!(viewport as csCore.StackViewport | undefined)?.getImageData?.();
}

/**
 * Cornerstone's reference lines, drawn only between panes that show an image. Its
 * renderAnnotation (5.14) reads the camera of a pane whose stack has not loaded yet, throws, and
 * the throw leaves Cornerstone's annotation rendering stuck: no line is drawn afterwards.
 */
class ReferenceLinesTool extends csTools.ReferenceLinesTool {
  constructor(...args: ConstructorParameters<typeof csTools.ReferenceLinesTool>) {
    super(...args);
    const draw = this.renderAnnotation;
    this.renderAnnotation = (enabledElement, svgDrawingHelper) => {
      const source = this.editData && csCore.getEnabledElementByViewportId(this.editData.sourceViewportId)?.viewport;
      return showsImage(enabledElement.viewport) && showsImage(source) ? draw(enabledElement, svgDrawingHelper) : false;
    };
  }
}

/** Draws, in the other panes, where the source pane's slice plane cuts theirs. */
export const REFERENCE_LINES = ReferenceLinesTool.toolName as string;
const VOI_SYNCHRONIZER_ID = 'hf-voi-link';

/** One finger scrolls the stack unless another tool than W/L is chosen (it then draws, pans...). */
const ONE_FINGER = { numTouchPoints: 1 };

/** Tools that make measurements (listed in the panel). */
export const MEASUREMENT_TOOLS: string[] = [TOOL.length, TOOL.angle, TOOL.rectangle, TOOL.ellipse, TOOL.arrow];

let initialized: Promise<void> | null = null;

/** Whether WebGL is emulated in software (no GPU): its renderer names SwiftShader or llvmpipe. */
export function isSoftwareWebGL(): boolean {
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return false;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return isSoftwareRenderer(renderer);
  } catch {
    return false;
  }
}

function readRenderingPreference(): string | null {
  try {
    return window.localStorage.getItem('hf.rendering');
  } catch {
    return null;
  }
}

/** What the tools need from the app: its language, and a way to ask for an annotation's text. */
export interface ToolText {
  t: Translate;
  /** Resolves to the text typed, or null when the user cancels. */
  promptText: (current: string) => Promise<string | null>;
}

const instances = new Map<string, DicomJson>();

/** The DICOM JSON of the instance an image id shows (registered when its series was loaded). */
export function instanceFor(imageId: string | undefined): DicomJson | undefined {
  return imageId ? instances.get(imageId) : undefined;
}

/** The spacing a measurement on this image was made with (see measurementText.ts). */
export function calibrationFor(imageId: string | undefined): Calibration {
  return imageId ? calibrationOf(instances.get(imageId)) : UNCALIBRATED;
}

/** Cornerstone's target ids of stack images are `imageId:<imageId>`. */
function imageIdOfTarget(targetId: unknown): string | undefined {
  const id = Array.isArray(targetId) ? targetId[0] : targetId;
  return typeof id === 'string' ? id.replace(/^imageId:/, '') : undefined;
}

function toolConfiguration(name: string, text: ToolText): Record<string, unknown> {
  if (name === TOOL.arrow) {
    return {
      getTextCallback: (done: (label: string | null) => void) => void text.promptText('').then(done),
      changeTextCallback: (annotation: { data?: { label?: string } }, _e: unknown, done: (label: string | null) => void) =>
        void text.promptText(annotation.data?.label ?? '').then((label) => label && done(label)),
    };
  }
  if ([TOOL.length, TOOL.angle, TOOL.rectangle, TOOL.ellipse].includes(name as never)) {
    return {
      getTextLines: (data: { cachedStats?: Record<string, Record<string, unknown>> }, targetId: unknown) => {
        const key = Array.isArray(targetId) ? targetId[0] : targetId;
        const stats = data.cachedStats?.[key as string];
        return measurementLines(name, stats, calibrationFor(imageIdOfTarget(targetId)), text.t);
      },
    };
  }
  return {};
}

export function initCornerstone(text: ToolText): Promise<void> {
  initialized ??= (async () => {
    csCore.init();
    // WebGL emulated in software (SwiftShader, llvmpipe: no GPU) is about half as fast as
    // Cornerstone's CPU renderer (bench/viewer_bench.mjs), so the CPU renderer is used there.
    // `localStorage['hf.rendering']` = 'cpu' | 'gpu' overrides the choice.
    const preference = readRenderingPreference();
    if (preference === 'cpu' || (preference !== 'gpu' && isSoftwareWebGL())) {
      csCore.setUseCPURendering(true);
    }
    dicomImageLoader.init({
      maxWebWorkers: Math.max(1, Math.min(4, (navigator.hardwareConcurrency || 2) - 1)),
      // The token is read on every request, so a refreshed token is used at once.
      beforeSend: () => authHeader(),
    });
    csTools.init();
    for (const tool of [
      csTools.WindowLevelTool,
      csTools.PanTool,
      csTools.ZoomTool,
      csTools.StackScrollTool,
      csTools.LengthTool,
      csTools.AngleTool,
      csTools.RectangleROITool,
      csTools.EllipticalROITool,
      csTools.ArrowAnnotateTool,
      ReferenceLinesTool,
    ]) {
      csTools.addTool(tool);
    }
    const group = csTools.ToolGroupManager.createToolGroup(TOOL_GROUP_ID);
    if (!group) throw new Error('tool group');
    for (const name of Object.values(TOOL)) group.addTool(name, toolConfiguration(name, text));
    group.addTool(REFERENCE_LINES);
    const { MouseBindings } = csTools.Enums;
    // Touch: Cornerstone gives a touch to the first active tool (in the order tools were first
    // set active) bound to that many fingers, one finger also to the left-button tool. Stack
    // scroll comes first so one finger scrolls while W/L is the left-button tool; two fingers
    // go to zoom, which pinches and pans (its `pan` option) in the same gesture.
    group.setToolActive(TOOL.stackScroll, { bindings: [{ mouseButton: MouseBindings.Wheel }, ONE_FINGER] });
    group.setToolActive(TOOL.windowLevel, { bindings: [{ mouseButton: MouseBindings.Primary }] });
    group.setToolActive(TOOL.pan, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
    group.setToolActive(TOOL.zoom, { bindings: [{ mouseButton: MouseBindings.Secondary }, { numTouchPoints: 2 }] });
    for (const name of MEASUREMENT_TOOLS) group.setToolPassive(name);
    new csCore.RenderingEngine(ENGINE_ID);
  })();
  return initialized;
}

export function engine(): csCore.RenderingEngine {
  const e = csCore.getRenderingEngine(ENGINE_ID);
  if (!e) throw new Error('rendering engine not initialised');
  return e;
}

let resizeFrame = 0;

/**
 * Resize every viewport to its element, once per frame however many panes changed size: the
 * canvases get drawing buffers of their on-screen size × devicePixelRatio and the images are
 * fitted again (a layout change is a new view).
 */
export function scheduleResize(): void {
  cancelAnimationFrame(resizeFrame);
  resizeFrame = requestAnimationFrame(() => {
    try {
      engine().resize(true, false);
    } catch {
      /* engine destroyed: nothing to resize */
    }
  });
}

export function toolGroup(): csTools.Types.IToolGroup {
  const g = csTools.ToolGroupManager.getToolGroup(TOOL_GROUP_ID);
  if (!g) throw new Error('tool group not initialised');
  return g;
}

/** The tool on the left mouse button; the previous one goes passive (its annotations stay editable). */
export function setPrimaryTool(tool: PrimaryTool): void {
  const group = toolGroup();
  const { MouseBindings } = csTools.Enums;
  const current = group.getActivePrimaryMouseButtonTool();
  const name = TOOL[tool];
  if (current === name) return;
  if (current) {
    if (current === TOOL.pan || current === TOOL.zoom) {
      const button = current === TOOL.pan ? MouseBindings.Auxiliary : MouseBindings.Secondary;
      group.setToolActive(current, { bindings: [{ mouseButton: button }] });
    } else {
      group.setToolPassive(current);
    }
  }
  const extra =
    name === TOOL.pan
      ? [{ mouseButton: MouseBindings.Auxiliary }]
      : name === TOOL.zoom
        ? [{ mouseButton: MouseBindings.Secondary }]
        : [];
  group.setToolActive(name, { bindings: [{ mouseButton: MouseBindings.Primary }, ...extra] });
  if (name === TOOL.windowLevel) group.setToolActive(TOOL.stackScroll, { bindings: [ONE_FINGER] });
  // Passive with only the finger binding removed: the wheel binding keeps it active.
  else group.setToolPassive(TOOL.stackScroll, { removeAllBindings: [ONE_FINGER] });
}

/**
 * Reference lines from `sourceViewportId` (the active pane) into the others, or none (null).
 * Cornerstone's tool draws nothing where the planes are parallel or the frames of reference
 * differ. Every pane is drawn again, so the new source loses the line it showed as a target.
 */
export function setReferenceLines(sourceViewportId: string | null): void {
  const group = toolGroup();
  if (!sourceViewportId) {
    group.setToolDisabled(REFERENCE_LINES);
    return;
  }
  group.setToolConfiguration(REFERENCE_LINES, { sourceViewportId });
  group.setToolEnabled(REFERENCE_LINES);
}

/**
 * Reference lines drawn again from the source's current slice. Cornerstone's stack viewport
 * fires no CAMERA_MODIFIED (the tool's cue) when it scrolls to a slice of the same geometry, so
 * the viewer calls this when the source shows a new image. Only the annotation layers of the
 * other panes are drawn again, not their images.
 */
export function refreshReferenceLines(): void {
  const tool = toolGroup().getToolInstance(REFERENCE_LINES) as ReferenceLinesTool | undefined;
  tool?._init();
}

/**
 * Linked window/level: a VOI change in `sourceViewportId` (the active pane) is copied to the
 * `targetViewportIds` by Cornerstone's VOI synchronizer (window/level only, not invert or
 * colour map); null or no targets unlinks. Made again on every change of the panes.
 */
export function linkVoi(sourceViewportId: string | null, targetViewportIds: string[]): void {
  try {
    csTools.SynchronizerManager.destroySynchronizer(VOI_SYNCHRONIZER_ID);
  } catch {
    /* a pane of it already disabled: nothing left to listen to */
  }
  if (!sourceViewportId || targetViewportIds.length === 0) return;
  const sync = csTools.synchronizers.createVOISynchronizer(VOI_SYNCHRONIZER_ID, { syncInvertState: false, syncColormap: false });
  sync.addSource({ renderingEngineId: ENGINE_ID, viewportId: sourceViewportId });
  for (const viewportId of targetViewportIds) sync.addTarget({ renderingEngineId: ENGINE_ID, viewportId });
}

export function registerInstance(imageId: string, json: DicomJson): void {
  instances.set(imageId, json);
  void metadataUtilities.addDicomWebInstance(imageId, json as Record<string, unknown>);
}

/** Whether Cornerstone renders through WebGL (GPU path) or its CPU fallback. */
export function renderingPath(): 'gpu' | 'cpu' {
  return csCore.getShouldUseCPURendering() ? 'cpu' : 'gpu';
}

export { csCore, csTools };
