import { describe, expect, it } from 'vitest';
import { translate } from '@/lib/i18n';
import {
  deviceBody,
  EMPTY_FORM,
  jobDone,
  sendTargets,
  serverFieldErrors,
  validateDevice,
  type Device,
  type DimseJob,
} from './form';
import { deviceErrorMessage } from './messages';

const form = (patch: Partial<typeof EMPTY_FORM>) => ({ ...EMPTY_FORM, ae_title: 'CT1', host: '10.0.0.5', ...patch });

describe('device form checks', () => {
  it('accepts a normal device', () => {
    expect(validateDevice(form({}))).toEqual({});
    expect(validateDevice(form({ host: 'pacs.example.org', port: '11112' }))).toEqual({});
    expect(validateDevice(form({ ae_title: 'ABCDEFGHIJKLMNOP' }))).toEqual({});
  });

  it('refuses AE titles the DICOM AE VR does not allow', () => {
    expect(validateDevice(form({ ae_title: '' })).ae_title).toBe('required');
    expect(validateDevice(form({ ae_title: '   ' })).ae_title).toBe('required');
    expect(validateDevice(form({ ae_title: 'ABCDEFGHIJKLMNOPQ' })).ae_title).toBe('aeTooLong');
    expect(validateDevice(form({ ae_title: 'CT\\1' })).ae_title).toBe('aeBackslash');
    expect(validateDevice(form({ ae_title: 'CT\t1' })).ae_title).toBe('aeChars');
    expect(validateDevice(form({ ae_title: '影像' })).ae_title).toBe('aeChars');
  });

  it('refuses ports outside 1-65535', () => {
    for (const port of ['0', '65536', '-1', '12a', '1.5']) {
      expect(validateDevice(form({ port })).port).toBe('port');
    }
    expect(validateDevice(form({ port: '' })).port).toBe('required');
    expect(validateDevice(form({ port: '65535' })).port).toBeUndefined();
    expect(validateDevice(form({ port: '1' })).port).toBeUndefined();
  });

  it('refuses link-local / metadata hosts and malformed names', () => {
    for (const host of ['169.254.169.254', '0.0.0.0', '224.0.0.1', 'fe80::1', '::', 'metadata.google.internal']) {
      expect(validateDevice(form({ host })).host).toBe('hostRefused');
    }
    expect(validateDevice(form({ host: 'bad host' })).host).toBe('host');
    expect(validateDevice(form({ host: '300.1.1.1' })).host).toBe('host');
    expect(validateDevice(form({ host: '' })).host).toBe('required');
    expect(validateDevice(form({ host: '127.0.0.1' })).host).toBeUndefined();
    expect(validateDevice(form({ host: '::1' })).host).toBeUndefined();
  });

  it('builds the request body with trimmed values and operations in order', () => {
    const body = deviceBody(form({ ae_title: ' CT1 ', port: ' 104 ', operations: ['find', 'store'] }));
    expect(body).toMatchObject({ ae_title: 'CT1', port: 104, operations: ['store', 'find'] });
  });
});

describe('server refusals in words', () => {
  it('maps 409 and 422 onto fields', () => {
    expect(serverFieldErrors('duplicate_ae_title', null)).toEqual({ ae_title: 'duplicate' });
    const details = {
      errors: [
        { loc: ['body', 'host'], msg: 'Value error, link-local, metadata, unspecified and multicast addresses are refused' },
        { loc: ['body', 'port'], msg: 'Input should be less than or equal to 65535' },
      ],
    };
    expect(serverFieldErrors('validation_error', details)).toEqual({ host: 'hostRefused', port: 'port' });
    expect(serverFieldErrors('validation_error', { errors: [{ loc: ['body'], msg: 'x' }] })).toEqual({});
    expect(serverFieldErrors('permission_denied', null)).toEqual({});
  });

  it('translates device error codes in both languages', () => {
    const info = { code: 'dicom_remote_unavailable', message: 'x', status: 503, retryAfter: null };
    expect(deviceErrorMessage((k, v) => translate('zh-CN', k, v), info)).toContain('远程');
    expect(deviceErrorMessage((k, v) => translate('en', k, v), info)).toContain('remote DICOM node');
    const other = { ...info, code: 'permission_denied', status: 403 };
    expect(deviceErrorMessage((k, v) => translate('en', k, v), other)).toBe(translate('en', 'errors.permission_denied'));
  });
});

describe('send targets and jobs', () => {
  const device = (patch: Partial<Device>): Device => ({
    id: 'x', ae_title: 'A', host: 'h', port: 104, modality: '', department: '', description: '',
    operations: ['store'], enabled: true, tls: false, created_at: '', updated_at: '', ...patch,
  });
  it('offers only enabled devices allowed to store', () => {
    const list = [device({ id: '1' }), device({ id: '2', enabled: false }), device({ id: '3', operations: ['find'] })];
    expect(sendTargets(list).map((d) => d.id)).toEqual(['1']);
  });
  it('knows when a job is over', () => {
    const job = (status: DimseJob['status']) => ({ status }) as DimseJob;
    expect(jobDone(job('running'))).toBe(false);
    expect(jobDone(job('queued'))).toBe(false);
    expect(jobDone(job('completed'))).toBe(true);
    expect(jobDone(job('partial'))).toBe(true);
    expect(jobDone(job('failed'))).toBe(true);
    expect(jobDone(undefined)).toBe(false);
  });
});
