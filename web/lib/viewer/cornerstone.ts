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

export function initCornerstone(arrowText: () => string): Promise<void> {
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
    ]) {
      csTools.addTool(tool);
    }
    const group = csTools.ToolGroupManager.createToolGroup(TOOL_GROUP_ID);
    if (!group) throw new Error('tool group');
    for (const name of Object.values(TOOL)) {
      if (name === TOOL.arrow) {
        group.addTool(name, {
          getTextCallback: (done: (text: string) => void) => done(arrowText()),
          changeTextCallback: (_data: unknown, _e: unknown, done: (text: string) => void) => done(arrowText()),
        });
      } else {
        group.addTool(name);
      }
    }
    const { MouseBindings } = csTools.Enums;
    group.setToolActive(TOOL.windowLevel, { bindings: [{ mouseButton: MouseBindings.Primary }] });
    group.setToolActive(TOOL.pan, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
    group.setToolActive(TOOL.zoom, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
    group.setToolActive(TOOL.stackScroll, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
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
}

export function registerInstance(imageId: string, json: DicomJson): void {
  void metadataUtilities.addDicomWebInstance(imageId, json as Record<string, unknown>);
}

/** Whether Cornerstone renders through WebGL (GPU path) or its CPU fallback. */
export function renderingPath(): 'gpu' | 'cpu' {
  return csCore.getShouldUseCPURendering() ? 'cpu' : 'gpu';
}

export { csCore, csTools };
