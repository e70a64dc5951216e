import { describe, expect, it } from 'vitest';
import { buildStack, type DicomJson } from './imageIds';
import { edgeMarkers, orientationLetters } from './orientation';
import { CT_PRESETS, presetsFor, voiRange, windowFromRange } from './presets';
import { isSoftwareRenderer } from './rendering';

describe('software WebGL detection', () => {
  it('recognises emulated renderers only', () => {
    expect(isSoftwareRenderer('ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)')).toBe(true);
    expect(isSoftwareRenderer('llvmpipe (LLVM 15.0.6, 256 bits)')).toBe(true);
    expect(isSoftwareRenderer('ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0)')).toBe(false);
  });
});

function inst(sop: string, number: number | null, z: number, frames?: number): DicomJson {
  return {
    '00080018': { vr: 'UI', Value: [sop] },
    ...(number === null ? {} : { '00200013': { vr: 'IS', Value: [number] } }),
    '00200032': { vr: 'DS', Value: [0, 0, z] },
    '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
    ...(frames ? { '00280008': { vr: 'IS', Value: [frames] } } : {}),
  };
}

describe('stack of image ids', () => {
  it('orders by instance number, then position, and expands frames', () => {
    const stack = buildStack('http://h/dicom-web', 'S', 'SE', [inst('c', 3, 0), inst('a', 1, 9), inst('b', 2, 5, 2)]);
    expect(stack.map((e) => e.imageId)).toEqual([
      'wadors:http://h/dicom-web/studies/S/series/SE/instances/a/frames/1',
      'wadors:http://h/dicom-web/studies/S/series/SE/instances/b/frames/1',
      'wadors:http://h/dicom-web/studies/S/series/SE/instances/b/frames/2',
      'wadors:http://h/dicom-web/studies/S/series/SE/instances/c/frames/1',
    ]);
  });
  it('falls back to slice position without instance numbers', () => {
    const stack = buildStack('b', 'S', 'SE', [inst('hi', null, 10), inst('lo', null, -10)]);
    expect(stack.map((e) => e.imageId.split('/instances/')[1])).toEqual(['lo/frames/1', 'hi/frames/1']);
  });
});

describe('orientation markers', () => {
  it('axial, radiological convention: patient left on screen right, anterior up', () => {
    expect(edgeMarkers([1, 0, 0], [0, -1, 0])).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
  });
  it('oblique directions get two letters, strongest first', () => {
    expect(orientationLetters([0.8, 0, 0.6])).toBe('LH');
    expect(orientationLetters([0, 0, -1])).toBe('F');
  });
});

describe('window presets', () => {
  it('has the five CT presets on keys 1–5', () => {
    expect(CT_PRESETS.map((p) => p.key)).toEqual(['1', '2', '3', '4', '5']);
    expect(CT_PRESETS.map((p) => p.id)).toEqual(['lung', 'mediastinum', 'bone', 'brain', 'abdomen']);
  });
  it('converts width/center to a VOI range with DICOM linear VOI (as Cornerstone) and back', () => {
    // Cornerstone's toLowHighRange(400, 40): center − 0.5 ∓ (width − 1)/2.
    expect(voiRange(400, 40)).toEqual({ lower: -160, upper: 239 });
    expect(windowFromRange({ lower: -160, upper: 239 })).toEqual({ width: 400, center: 40 });
    for (const p of CT_PRESETS) expect(windowFromRange(voiRange(p.width, p.center))).toEqual({ width: p.width, center: p.center });
    expect(windowFromRange(voiRange(1, 0.5))).toEqual({ width: 1, center: 0.5 });
  });
  it('offers the CT presets for CT only', () => {
    expect(presetsFor('CT')).toBe(CT_PRESETS);
    for (const m of ['MR', 'US', 'DX', 'CR', 'OT', null, undefined]) expect(presetsFor(m)).toEqual([]);
  });
});
