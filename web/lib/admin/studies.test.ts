import { describe, expect, it } from 'vitest';
import { translate } from '@/lib/i18n';
import { adminSections } from './sections';
import { EMPTY_REMOTE_SEARCH, exportFileName, exportParams, hasCriteria, remoteFilters, studiesErrorMessage } from './studies';

const t = (key: string, vars?: Record<string, string | number>) => translate('zh-CN', key, vars);
const info = (code: string, message = '', status = 400) => ({ code, message, status, retryAfter: null });

describe('export options', () => {
  it('sends the de-identification options only with de-identification', () => {
    expect(exportParams({ deidentify: true, retainUids: false, cleanDescriptors: false })).toEqual({ deidentify: 'true' });
    expect(exportParams({ deidentify: true, retainUids: true, cleanDescriptors: true })).toEqual({
      deidentify: 'true',
      retain_uids: 'true',
      clean_descriptors: 'true',
    });
    // The server refuses the options without de-identification (400): never sent.
    expect(exportParams({ deidentify: false, retainUids: true, cleanDescriptors: true })).toEqual({ deidentify: 'false' });
  });

  it('names a de-identified zip without the patient ID', () => {
    expect(exportFileName('P 1/2', '1.2.3', false)).toBe('study-P_1_2.zip');
    expect(exportFileName('P12', '1.2.3', true)).toBe('study-1.2.3-deidentified.zip');
  });
});

describe('refusals in words', () => {
  it('translates known codes and shows the server sentence otherwise, never the code', () => {
    expect(studiesErrorMessage(t, info('series_not_found'))).toContain('序列');
    expect(studiesErrorMessage(t, info('permission_denied', 'x', 403))).toBe(t('errors.permission_denied'));
    expect(studiesErrorMessage(t, info('something_new', '服务器拒绝了该操作。', 409))).toBe('服务器拒绝了该操作。');
    expect(studiesErrorMessage(t, info('dicom_remote_unavailable', '', 503))).not.toContain('dicom_remote_unavailable');
  });
});

describe('remote C-FIND filters', () => {
  it('maps the form to DICOM matching keys', () => {
    expect(remoteFilters({ ...EMPTY_REMOTE_SEARCH })).toEqual({});
    expect(hasCriteria(EMPTY_REMOTE_SEARCH)).toBe(false);
    expect(
      remoteFilters({
        patientId: ' P1 ',
        patientName: '王',
        dateFrom: '2026-01-01',
        dateTo: '2026-01-31',
        modality: 'ct',
        accession: 'A9',
      }),
    ).toEqual({
      PatientID: 'P1',
      PatientName: '王*',
      StudyDate: '20260101-20260131',
      ModalitiesInStudy: 'CT',
      AccessionNumber: 'A9',
    });
  });

  it('keeps wildcards given, and makes open and single-day date ranges', () => {
    expect(remoteFilters({ ...EMPTY_REMOTE_SEARCH, patientName: 'W?NG*' }).PatientName).toBe('W?NG*');
    expect(remoteFilters({ ...EMPTY_REMOTE_SEARCH, dateFrom: '2026-03-01' }).StudyDate).toBe('20260301-');
    expect(remoteFilters({ ...EMPTY_REMOTE_SEARCH, dateTo: '2026-03-01' }).StudyDate).toBe('-20260301');
    expect(remoteFilters({ ...EMPTY_REMOTE_SEARCH, dateFrom: '2026-03-01', dateTo: '2026-03-01' }).StudyDate).toBe('20260301');
  });
});

describe('console sections', () => {
  it('shows studies to deleters and query/retrieve to device managers only', () => {
    expect(adminSections(['image:read', 'image:export', 'device:read']).map((s) => s.id)).toEqual([]);
    expect(adminSections(['image:delete', 'device:manage']).map((s) => s.id)).toEqual(['studies', 'queryRetrieve']);
  });
});
