import type { ApiErrorInfo } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import type { TFunction } from '@/lib/i18n';

/** Codes of the device and DIMSE API that have their own sentence (under `devices.errors.`). */
const DEVICE_CODES = new Set([
  'duplicate_ae_title',
  'device_not_found',
  'device_disabled',
  'study_not_found',
  'dimse_job_not_found',
  'dicom_remote_unavailable',
]);

/** The user-facing sentence for an error of the device pages, translated by its code. */
export function deviceErrorMessage(t: TFunction, info: ApiErrorInfo): string {
  if (DEVICE_CODES.has(info.code)) return t(`devices.errors.${info.code}`);
  return errorMessage(t, info);
}
