import { describe, expect, it } from 'vitest';
import type { DicomJson } from './imageIds';
import { isImage, objectKind, srLines } from './objects';

const code = (meaning: string) => ({ '00080100': { vr: 'SH', Value: ['X'] }, '00080104': { vr: 'LO', Value: [meaning] } });

describe('non-image objects', () => {
  it('names them by SOP class, then modality', () => {
    const sop = (uid: string, modality = ''): DicomJson => ({ '00080016': { vr: 'UI', Value: [uid] }, '00080060': { vr: 'CS', Value: [modality] } });
    expect(objectKind(sop('1.2.840.10008.5.1.4.1.1.88.11'))).toBe('sr');
    expect(objectKind(sop('1.2.840.10008.5.1.4.1.1.88.59'))).toBe('ko');
    expect(objectKind(sop('1.2.840.10008.5.1.4.1.1.481.5'))).toBe('rtplan');
    expect(objectKind(sop('1.2.840.10008.5.1.4.1.1.481.3'))).toBe('rtstruct');
    expect(objectKind(sop('1.2.840.10008.5.1.4.1.1.104.1'))).toBe('pdf');
    expect(objectKind(sop('1.2.3', 'SR'))).toBe('sr');
    expect(objectKind(sop('1.2.3'))).toBe('other');
    expect(isImage({ '00280010': { vr: 'US', Value: [512] } })).toBe(true);
    expect(isImage(sop('1.2.840.10008.5.1.4.1.1.88.11'))).toBe(false);
  });
  it('walks an SR content tree', () => {
    const sr: DicomJson = {
      '0040A040': { vr: 'CS', Value: ['CONTAINER'] },
      '0040A043': { vr: 'SQ', Value: [code('放射报告')] },
      '0040A730': {
        vr: 'SQ',
        Value: [
          { '0040A040': { vr: 'CS', Value: ['TEXT'] }, '0040A043': { vr: 'SQ', Value: [code('所见')] }, '0040A160': { vr: 'UT', Value: ['右肺结节'] } },
          { '0040A040': { vr: 'CS', Value: ['CODE'] }, '0040A043': { vr: 'SQ', Value: [code('部位')] }, '0040A168': { vr: 'SQ', Value: [code('肺')] } },
          {
            '0040A040': { vr: 'CS', Value: ['NUM'] },
            '0040A043': { vr: 'SQ', Value: [code('直径')] },
            '0040A300': { vr: 'SQ', Value: [{ '0040A30A': { vr: 'DS', Value: [8] }, '004008EA': { vr: 'SQ', Value: [code('mm')] } }] },
          },
        ],
      },
    };
    expect(srLines(sr)).toEqual([
      { depth: 0, name: '放射报告', value: '' },
      { depth: 1, name: '所见', value: '右肺结节' },
      { depth: 1, name: '部位', value: '肺' },
      { depth: 1, name: '直径', value: '8 mm' },
    ]);
  });
});
