import * as tus from 'tus-js-client';
import { api, authHeader } from '@/lib/api/client';
import type { TusStatus, UploadResponse, UploadResult } from '@/lib/api/types';

/** One file through POST /api/uploads (multipart, field `files`, relative path as filename). */
export async function uploadSmall(
  file: File,
  path: string,
  onProgress: (loaded: number) => void,
): Promise<UploadResult[]> {
  const form = new FormData();
  form.append('files', file, path);
  const { data } = await api.post<UploadResponse>('/api/uploads', form, {
    onUploadProgress: (e) => onProgress(e.loaded),
  });
  return data.results;
}

/** A large file through tus (resumable: an interrupted upload resumes from the last chunk). */
export function uploadResumable(
  file: File,
  path: string,
  onProgress: (loaded: number) => void,
): Promise<UploadResult[]> {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(file, {
      endpoint: '/api/uploads/tus',
      chunkSize: 16 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000],
      metadata: { filename: path },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      // The access token can be refreshed mid-upload: set it on every request.
      onBeforeRequest: (req) => {
        for (const [k, v] of Object.entries(authHeader())) req.setHeader(k, v);
      },
      onProgress: (loaded) => onProgress(loaded),
      onError: (err) => reject(err),
      onSuccess: async () => {
        try {
          resolve(await tusResults(upload.url ?? ''));
        } catch (err) {
          reject(err);
        }
      },
    });
    void upload.findPreviousUploads().then((previous) => {
      if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  });
}

async function tusResults(url: string): Promise<UploadResult[]> {
  const path = new URL(url, window.location.href).pathname;
  for (let attempt = 0; attempt < 30; attempt += 1) {
    const { data } = await api.get<TusStatus>(path);
    if (data.complete) return data.results ?? [];
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error('upload not ingested in time');
}
