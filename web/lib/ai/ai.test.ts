import { describe, expect, it } from 'vitest';
import { translate } from '@/lib/i18n';
import { applicableModels, percent, shownLabel, shownMeasurements } from './applicable';
import { acceptanceChart, labelsChart, latencyChart, runsChart } from './charts';
import { checkManifest } from './manifest';
import { aiErrorMessage } from './messages';
import { dragged, findingsOn, imageRef, outline, overlayOf, overlayText, withDraft } from './overlay';
import type { AiFinding, AiModel, AiVersionMetrics } from './types';

const zh = (k: string, v?: Record<string, string | number>) => translate('zh-CN', k, v);

function model(name: string, filters: object, enabled = true): AiModel {
  const id = `${name}-v1`;
  return {
    id: name,
    name,
    auto_run: false,
    active_version_id: id,
    active_version: '1',
    versions: [
      { id, version: '1', kind: 'onnx', task: 'classification', sha256: null, size: 0, enabled, active: true, created_at: '', created_by: null, manifest: { filters } },
    ],
  };
}

function finding(over: Partial<AiFinding> = {}): AiFinding {
  return {
    id: 'f1', label: 'lung', probability: 0.9344, sop_instance_uid: '1.2.3', frame: 1,
    geometry: { bbox: [10, 20, 30, 40], mask: 'seg' }, measurements: { laa950_percent: 12.5, lung_voxels: 100, p_lung: 1 },
    status: 'suggestion', edited_label: null, edited_geometry: null, review_comment: null, reviewed_by: null, reviewed_at: null, version: 1,
    ...over,
  };
}

describe('which models fit a series', () => {
  const models = [
    model('tumor', { modalities: ['MR'], body_parts: ['HEAD', 'BRAIN'] }),
    model('lung', { modalities: ['CT'], body_parts: ['CHEST'] }),
    model('any', {}),
    model('off', {}, false),
  ];
  it('filters by modality and body part, case-insensitively; empty filters take anything', () => {
    expect(applicableModels(models, { modality: 'MR', body_part_examined: 'brain' }).map((m) => m.name)).toEqual(['tumor', 'any']);
    expect(applicableModels(models, { modality: 'CT', body_part_examined: '' }).map((m) => m.name)).toEqual(['any']);
    expect(applicableModels(models, null)).toEqual([]);
  });
  it('leaves out models without an enabled active version', () => {
    expect(applicableModels(models, { modality: 'US', body_part_examined: '' }).map((m) => m.name)).not.toContain('off');
  });
});

describe('findings', () => {
  it('shows the edited label, percentages and the measurements a doctor reads', () => {
    expect(shownLabel(finding({ edited_label: 'nodule' }))).toBe('nodule');
    expect(percent(0.9344)).toBe('93.4%');
    expect(shownMeasurements(finding())).toEqual([['laa950_percent', 12.5]]);
  });
  it('maps to an outline on its own image only; rejected and classification findings draw nothing', () => {
    const o = overlayOf(finding());
    expect(o).not.toBeNull();
    const id = 'wadors:http://x/dicom-web/studies/1/series/2/instances/1.2.3/frames/1';
    expect(imageRef(id)).toEqual({ sopInstanceUid: '1.2.3', frame: 1 });
    expect(findingsOn([o!], id)).toHaveLength(1);
    expect(findingsOn([o!], id.replace('frames/1', 'frames/2'))).toHaveLength(0);
    expect(findingsOn([o!], id.replace('1.2.3', '1.2.4'))).toHaveLength(0);
    expect(overlayOf(finding({ status: 'rejected' }))).toBeNull();
    expect(overlayOf(finding({ geometry: {} }))).toBeNull();
  });
  it("writes the doctor's edited label beside the outline, the model's until then", () => {
    const word = zh('ai.suggestion');
    const unreviewed = overlayOf(finding())!;
    expect(overlayText(unreviewed, word)).toBe(`${word}: lung`);
    const edited = overlayOf(finding({ status: 'edited', edited_label: 'nodule' }))!;
    expect(edited.label).toBe('nodule');
    expect(overlayText(edited, word)).toBe('nodule');
    const accepted = overlayOf(finding({ status: 'accepted' }))!;
    expect(overlayText(accepted, word)).toBe('lung');
    // an edit of the outline only keeps the model's label
    const reshaped = overlayOf(finding({ status: 'edited', edited_geometry: { bbox: [1, 2, 3, 4] } }))!;
    expect(overlayText(reshaped, word)).toBe('lung');
  });
  it('puts pixel edges on Cornerstone pixel centres; an edited contour wins', () => {
    expect(outline(overlayOf(finding())!)).toEqual([[9.5, 19.5], [29.5, 19.5], [29.5, 39.5], [9.5, 39.5]]);
    const edited = overlayOf(finding({ status: 'edited', edited_geometry: { contour: [[0, 0], [4, 0], [4, 4]] } }))!;
    expect(outline(edited)).toEqual([[-0.5, -0.5], [3.5, -0.5], [3.5, 3.5]]);
  });
});

describe('model page', () => {
  const rows: AiVersionMetrics[] = [
    { model: 'm', version: '1', version_id: 'a', runs: 4, failures: 1, latency_p50_ms: 120.4, latency_p95_ms: 300.6, reviewed: 4, accepted: 3, acceptance_rate: 0.75, labels_per_day: { '2026-12-02': { b: 1 }, '2026-12-01': { a: 2, b: 1 } } },
    { model: 'm', version: '2', version_id: 'b', runs: 0, failures: 0, latency_p50_ms: null, latency_p95_ms: null, reviewed: 0, accepted: 0, acceptance_rate: null, labels_per_day: {} },
  ];
  it('charts runs, latency and acceptance per version, gaps where nothing ran', () => {
    const runs = runsChart(rows, zh) as { series: { name: string; data: number[] }[] };
    expect(runs.series.map((s) => s.name)).toEqual(['运行次数', '失败次数']);
    expect(runs.series[1].data).toEqual([1, 0]);
    expect((latencyChart(rows, zh) as { series: { data: (number | null)[] }[] }).series[1].data).toEqual([301, null]);
    expect((acceptanceChart(rows, zh) as { series: { data: (number | null)[] }[] }).series[0].data).toEqual([75, null]);
  });
  it('stacks labels per day in date order', () => {
    const o = labelsChart(rows[0]) as { xAxis: { data: string[] }; series: { name: string; data: number[] }[] };
    expect(o.xAxis.data).toEqual(['2026-12-01', '2026-12-02']);
    expect(o.series).toEqual([
      { type: 'bar', stack: 'labels', name: 'a', data: [2, 0] },
      { type: 'bar', stack: 'labels', name: 'b', data: [1, 1] },
    ]);
  });
  it('checks a manifest before upload', () => {
    expect(checkManifest('{', true)).toEqual({ ok: false, problem: 'json' });
    expect(checkManifest('{"name":"x","version":"1"}', false)).toEqual({ ok: false, problem: 'file' });
    expect(checkManifest('{"name":"x","version":"1","kind":"python"}', false)).toEqual({ ok: true, name: 'x', version: '1', kind: 'python' });
  });
  it('words AI errors from their code and details', () => {
    const err = { response: { status: 409, data: { error: { code: 'ai_version_exists', message: 'x', details: { name: 'm', version: '2' } } } } };
    expect(aiErrorMessage(zh, err)).toBe('模型 m 的版本 2 已存在；版本不可修改，请使用新的版本号。');
    const other = { response: { status: 403, data: { error: { code: 'permission_denied', message: 'x', details: null } } } };
    expect(aiErrorMessage(zh, other)).toBe(zh('errors.permission_denied'));
  });
});

describe('dragging a finding geometry', () => {
  const box = { id: 'f1', bbox: [10, 20, 30, 40], contour: null };
  it('moves the corner it holds, the opposite one stays', () => {
    expect(dragged(box, 2, [35.04, 44.96], [0, 0], 64, 64).bbox).toEqual([10, 20, 35, 45]);
    expect(dragged(box, 0, [5, 6], [0, 0], 64, 64).bbox).toEqual([5, 6, 30, 40]);
    expect(dragged(box, 1, [50, 2], [0, 0], 64, 64).bbox).toEqual([10, 2, 50, 40]);
    expect(dragged(box, 3, [1, 60], [0, 0], 64, 64).bbox).toEqual([1, 20, 30, 60]);
  });
  it('keeps a box inside the image and at least a pixel wide', () => {
    expect(dragged(box, 2, [99, -5], [0, 0], 64, 48).bbox).toEqual([10, 20, 64, 21]);
    expect(dragged(box, 0, [-3, 50], [0, 0], 64, 64).bbox).toEqual([0, 39, 30, 40]);
  });
  it('moves the whole shape no further than the edges', () => {
    expect(dragged(box, -1, [0, 0], [5, -3], 64, 64).bbox).toEqual([15, 17, 35, 37]);
    expect(dragged(box, -1, [0, 0], [100, -100], 64, 64).bbox).toEqual([44, 0, 64, 20]);
    const poly = { id: 'f1', bbox: null, contour: [[1, 1], [5, 1], [3, 4]] };
    expect(dragged(poly, 1, [9, 9], [0, 0], 16, 16).contour).toEqual([[1, 1], [9, 9], [3, 4]]);
    expect(dragged(poly, -1, [0, 0], [-4, 0], 16, 16).contour).toEqual([[0, 1], [4, 1], [2, 4]]);
  });
  it('draws the draft of the finding being adjusted only', () => {
    const o = overlayOf(finding())!;
    expect(o.mask).toBe(true);
    expect(withDraft(o, { ...box, bbox: [1, 2, 3, 4] }).bbox).toEqual([1, 2, 3, 4]);
    expect(withDraft(o, { ...box, id: 'other', bbox: [1, 2, 3, 4] }).bbox).toEqual([10, 20, 30, 40]);
    // An edited box keeps the AI mask.
    expect(overlayOf(finding({ status: 'edited', edited_geometry: { bbox: [1, 2, 3, 4] } }))!.mask).toBe(true);
  });
});
