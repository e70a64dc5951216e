import { describe, expect, it } from 'vitest';
import { translate } from '@/lib/i18n';
import { findingSentence, formatNumber, insertableFindings, measurementUnit, placeIn, type InsertableFinding } from './reportText';
import type { AiFinding, AiRun } from './types';

function finding(over: Partial<AiFinding> = {}): AiFinding {
  return {
    id: 'f1', label: 'lung', probability: 1, sop_instance_uid: '1.2.3', frame: 1,
    geometry: { bbox: [10, 20, 30, 40], mask: 'seg' },
    measurements: { laa950_percent: 12.34, lung_voxels: 100, lung_volume_ml: 4500.06, p_lung: 1 },
    status: 'accepted', edited_label: null, edited_geometry: null, review_comment: null, reviewed_by: 'dr', reviewed_at: '2026-01-01T00:00:00Z', version: 2,
    ...over,
  };
}

function run(id: string, findings: AiFinding[], over: Partial<AiRun> = {}): AiRun {
  return {
    id, model: 'lung-ct', version: '1.0.0', status: 'succeeded', reason_code: null, reason: null, triggered_by: 'dr',
    study_instance_uid: '1.2', series_instance_uid: '1.2.9', sop_instance_uid: null, created_at: '', started_at: null,
    finished_at: null, latency_ms: null, images: 3, sr_sop_instance_uid: null, seg_sop_instance_uid: null, findings, ...over,
  };
}

const item = (f: AiFinding, over: Partial<InsertableFinding> = {}): InsertableFinding => ({ finding: f, model: 'lung-ct', version: '1.0.0', seriesInstanceUid: '1.2.9', ...over });
const names = (language: 'zh-CN' | 'en') => (key: string) => {
  const k = `ai.measure.${key}`;
  const v = translate(language, k);
  return v === k ? key : v;
};
const place = { seriesNumber: 2, instanceNumber: 45, frame: 1, frames: 1 };

describe('which AI findings a report may take', () => {
  it('offers accepted and edited findings only, oldest run first; counts the unreviewed', () => {
    const runs = [
      run('new', [finding({ id: 'n1', status: 'suggestion' }), finding({ id: 'n2', status: 'rejected' }), finding({ id: 'n3', status: 'edited', edited_label: '肺气肿' })]),
      run('old', [finding({ id: 'o1' }), finding({ id: 'o2', status: 'suggestion' })], { model: 'other', version: '2' }),
    ];
    const { offered, unreviewed } = insertableFindings(runs);
    expect(offered.map((x) => x.finding.id)).toEqual(['o1', 'n3']);
    expect(offered[0]).toMatchObject({ model: 'other', version: '2', seriesInstanceUid: '1.2.9' });
    expect(unreviewed).toBe(2);
    expect(insertableFindings([])).toEqual({ offered: [], unreviewed: 0 });
  });
});

describe('the sentence for an accepted finding', () => {
  it('zh-CN: model and version, confirmed, measurements with units, series and image', () => {
    expect(findingSentence(item(finding()), 'zh-CN', names('zh-CN'), place)).toBe(
      'AI 辅助（lung-ct v1.0.0，医生已确认）：lung，LAA%-950 12.3%，肺容积 4500.1 ml（序列 2，图像 45）。',
    );
  });
  it('en: the same in English', () => {
    expect(findingSentence(item(finding()), 'en', names('en'), place)).toBe(
      'AI-assisted (lung-ct v1.0.0, confirmed by the radiologist): lung, LAA%-950 12.3%, Lung volume 4500.1 ml (series 2, image 45).',
    );
  });
  it("the doctor's edited label wins over the model's, and says it was edited", () => {
    const f = finding({ status: 'edited', label: 'lung', edited_label: '右肺上叶结节。', measurements: { diameter_mm: 8 } });
    expect(findingSentence(item(f), 'zh-CN', names('zh-CN'), null)).toBe('AI 辅助（lung-ct v1.0.0，医生已修改并确认）：右肺上叶结节，diameter_mm 8 mm。');
    expect(findingSentence(item(f), 'en', names('en'), null)).toBe('AI-assisted (lung-ct v1.0.0, edited and confirmed by the radiologist): 右肺上叶结节, diameter_mm 8 mm.');
  });
  it('writes a probability below 1, leaves out per-class scores and voxel counts, and frames of a multi-frame image', () => {
    const f = finding({ label: 'nodule', probability: 0.9344, measurements: { p_nodule: 0.93, brain_voxels: 9 } });
    expect(findingSentence(item(f), 'zh-CN', names('zh-CN'), { seriesNumber: 3, instanceNumber: null, frame: 4, frames: 20 })).toBe(
      'AI 辅助（lung-ct v1.0.0，医生已确认）：nodule，置信度 93.4%（序列 3，第 4/20 帧）。',
    );
    expect(findingSentence(item(f), 'en', names('en'), { seriesNumber: null, instanceNumber: 7, frame: 4, frames: 20 })).toBe(
      'AI-assisted (lung-ct v1.0.0, confirmed by the radiologist): nodule, probability 93.4% (image 7, frame 4 of 20).',
    );
  });
  it('units from the measurement name; numbers to one decimal', () => {
    expect(measurementUnit('laa950_percent')).toBe('%');
    expect(measurementUnit('brain_volume_ml')).toBe('ml');
    expect(measurementUnit('long_axis_mm')).toBe('mm');
    expect(measurementUnit('score')).toBe('');
    expect(formatNumber(8)).toBe('8');
    expect(formatNumber(12.34)).toBe('12.3');
    expect(formatNumber(0.05)).toBe('0.1');
  });
});

describe("a finding's place in its series", () => {
  it('reads the series and instance numbers from the metadata; null when the image is not there', () => {
    const instances = [
      { '00080018': { vr: 'UI', Value: ['1.2.3'] }, '00200011': { vr: 'IS', Value: [2] }, '00200013': { vr: 'IS', Value: [45] } },
      { '00080018': { vr: 'UI', Value: ['1.2.4'] }, '00200013': { vr: 'IS', Value: [46] } },
    ];
    expect(placeIn(instances, { sop_instance_uid: '1.2.3', frame: null })).toEqual({ seriesNumber: 2, instanceNumber: 45, frame: 1, frames: 1 });
    expect(placeIn(instances, { sop_instance_uid: '9.9', frame: 1 })).toBeNull();
  });
});
