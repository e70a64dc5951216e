'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type DragEvent } from 'react';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import type { UploadResult } from '@/lib/api/types';
import { useT } from '@/lib/i18n';
import {
  filesFromDataTransfer,
  filesFromInput,
  formatBytes,
  isJunk,
  overallProgress,
  RESUMABLE_THRESHOLD,
  type PickedFile,
} from '@/lib/upload/collect';
import { uploadResumable, uploadSmall } from '@/lib/upload/send';

type ItemState = 'queued' | 'uploading' | 'done' | 'failed';

interface Item {
  id: number;
  path: string;
  size: number;
  loaded: number;
  state: ItemState;
  resumable: boolean;
  results: UploadResult[];
  error: string | null;
}

const CONCURRENCY = 3;
const ALWAYS_SHOWN = 10;

function ResultRow({ r }: { r: UploadResult }) {
  const t = useT();
  const colour =
    r.status === 'refused' ? 'text-red-600' : r.status === 'duplicate' ? 'text-amber-600' : 'text-emerald-700';
  return (
    <li data-testid="upload-result" data-status={r.status} className="flex gap-2 text-xs">
      <span className={colour}>{t(`upload.status.${r.status}`)}</span>
      <span className="truncate">{r.filename}</span>
      {r.reason && <span className="text-slate-500">— {r.reason}</span>}
    </li>
  );
}

/** Refusals first and always shown, each with its reason; long lists of stored files fold. */
function ResultList({ results }: { results: UploadResult[] }) {
  const t = useT();
  const order = { refused: 0, duplicate: 1, stored: 2 } as const;
  const sorted = [...results].sort((a, b) => order[a.status] - order[b.status]);
  const shown = sorted.filter((r, n) => r.status !== 'stored' || n < ALWAYS_SHOWN);
  const folded = sorted.filter((r, n) => r.status === 'stored' && n >= ALWAYS_SHOWN);
  return (
    <div className="mt-1 pl-4">
      <ul>
        {shown.map((r, n) => (
          <ResultRow key={`${r.filename}-${n}`} r={r} />
        ))}
      </ul>
      {folded.length > 0 && (
        <details>
          <summary className="cursor-pointer text-xs text-sky-700">{t('upload.more', { n: folded.length })}</summary>
          <ul>
            {folded.map((r, n) => (
              <ResultRow key={`${r.filename}-f${n}`} r={r} />
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
let nextId = 1;

export function Uploader() {
  const t = useT();
  const queryClient = useQueryClient();
  const [items, setItems] = useState<Item[]>([]);
  const [dragging, setDragging] = useState(false);
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);

  const patch = (id: number, p: Partial<Item>) =>
    setItems((all) => all.map((i) => (i.id === id ? { ...i, ...p } : i)));

  const start = async (picked: PickedFile[]) => {
    const batch = picked
      .filter((p) => !isJunk(p.path))
      .map((p) => ({
        picked: p,
        item: {
          id: nextId++,
          path: p.path,
          size: p.file.size,
          loaded: 0,
          state: 'queued' as ItemState,
          resumable: p.file.size >= RESUMABLE_THRESHOLD,
          results: [],
          error: null,
        },
      }));
    setItems((all) => [...all, ...batch.map((b) => b.item)]);
    const queue = [...batch];
    const worker = async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const { picked: p, item } = job;
        patch(item.id, { state: 'uploading' });
        try {
          const send = item.resumable ? uploadResumable : uploadSmall;
          const results = await send(p.file, p.path, (loaded) => patch(item.id, { loaded }));
          patch(item.id, { state: 'done', loaded: item.size, results });
        } catch (err) {
          patch(item.id, { state: 'failed', error: errorMessage(t, describeError(err)) });
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await queryClient.invalidateQueries({ queryKey: ['studies'] });
  };

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void start(await filesFromDataTransfer(e.dataTransfer));
  };

  const results = items.flatMap((i) => i.results);
  const counts = {
    stored: results.filter((r) => r.status === 'stored').length,
    duplicate: results.filter((r) => r.status === 'duplicate').length,
    refused: results.filter((r) => r.status === 'refused').length + items.filter((i) => i.state === 'failed').length,
  };
  const overall = overallProgress(items);
  const busy = items.some((i) => i.state === 'queued' || i.state === 'uploading');

  return (
    <div className="flex h-full flex-col gap-4 overflow-auto p-4">
      <div
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        className={`flex flex-col items-center gap-3 rounded-lg border-2 border-dashed p-10 text-center ${
          dragging ? 'border-sky-500 bg-sky-50' : 'border-slate-300 bg-white'
        }`}
      >
        <p className="text-lg">{t('upload.drop')}</p>
        <p className="text-sm text-slate-500">{t('upload.hint')}</p>
        <div className="flex gap-2">
          <button
            type="button"
            onClick={() => filesInput.current?.click()}
            className="rounded bg-sky-700 px-3 py-1.5 text-sm text-white hover:bg-sky-800"
          >
            {t('upload.chooseFiles')}
          </button>
          <button
            type="button"
            onClick={() => folderInput.current?.click()}
            className="rounded border border-sky-700 px-3 py-1.5 text-sm text-sky-700 hover:bg-sky-50"
          >
            {t('upload.chooseFolder')}
          </button>
        </div>
        <input
          ref={filesInput}
          data-testid="file-input"
          type="file"
          multiple
          hidden
          onChange={(e) => {
            void start(filesFromInput(e.target.files));
            e.target.value = '';
          }}
        />
        <input
          ref={folderInput}
          type="file"
          multiple
          hidden
          {...{ webkitdirectory: '', directory: '' }}
          onChange={(e) => {
            void start(filesFromInput(e.target.files));
            e.target.value = '';
          }}
        />
      </div>

      {items.length > 0 && (
        <section className="rounded bg-white p-4 shadow-sm">
          <div className="mb-2 flex items-center gap-4 text-sm">
            <span className="font-medium">{t('upload.overall')}</span>
            <progress className="h-2 flex-1" max={1} value={overall} data-testid="overall-progress" />
            <span className="tabular-nums">{Math.round(overall * 100)}%</span>
          </div>
          <p className="mb-3 text-sm" data-testid="upload-summary" data-busy={busy ? '1' : '0'}>
            {t('upload.summary', counts)}
          </p>
          <ul className="space-y-2 text-sm">
            {items.map((i) => (
              <li key={i.id} data-testid="upload-item" data-state={i.state} data-path={i.path}>
                <div className="flex items-center gap-3">
                  <span className="w-1/3 truncate" title={i.path}>
                    {i.path}
                  </span>
                  <span className="w-20 text-right text-slate-500 tabular-nums">{formatBytes(i.size)}</span>
                  <progress className="h-2 flex-1" max={Math.max(1, i.size)} value={i.loaded} />
                  <span className="w-28 text-right">
                    {t(`upload.state.${i.state}`)}
                    {i.resumable ? ` · ${t('upload.resumable')}` : ''}
                  </span>
                </div>
                {i.error && <p className="pl-2 text-red-600">{i.error}</p>}
                {i.results.length > 0 && <ResultList results={i.results} />}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
