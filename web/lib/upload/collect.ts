/** A file to upload with the path it had inside a dropped or chosen folder. */
export interface PickedFile {
  file: File;
  path: string;
}

interface FsEntry {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  fullPath: string;
}
interface FsFileEntry extends FsEntry {
  file: (ok: (f: File) => void, fail: (e: unknown) => void) => void;
}
interface FsDirEntry extends FsEntry {
  createReader: () => { readEntries: (ok: (e: FsEntry[]) => void, fail: (e: unknown) => void) => void };
}

function readAll(dir: FsDirEntry): Promise<FsEntry[]> {
  const reader = dir.createReader();
  const all: FsEntry[] = [];
  // readEntries returns at most ~100 entries per call: read until an empty batch.
  return new Promise((resolve, reject) => {
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

async function walk(entry: FsEntry, out: PickedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((ok, fail) => (entry as FsFileEntry).file(ok, fail));
    out.push({ file, path: entry.fullPath.replace(/^\//, '') || file.name });
  } else if (entry.isDirectory) {
    for (const child of await readAll(entry as FsDirEntry)) await walk(child, out);
  }
}

/** Files of a drop: plain files, whole folders (recursively) and zips alike. */
export async function filesFromDataTransfer(dt: DataTransfer): Promise<PickedFile[]> {
  const out: PickedFile[] = [];
  const entries: FsEntry[] = [];
  for (const item of Array.from(dt.items ?? [])) {
    if (item.kind !== 'file') continue;
    const entry = (item as DataTransferItem & { webkitGetAsEntry?: () => FsEntry | null }).webkitGetAsEntry?.();
    if (entry) entries.push(entry);
    else {
      const f = item.getAsFile();
      if (f) out.push({ file: f, path: f.name });
    }
  }
  if (entries.length === 0 && out.length === 0) {
    return Array.from(dt.files).map((file) => ({ file, path: file.name }));
  }
  for (const e of entries) await walk(e, out);
  return out;
}

/** Files of an <input type=file> (with `webkitdirectory`, they carry their relative path). */
export function filesFromInput(list: FileList | null): PickedFile[] {
  return Array.from(list ?? []).map((file) => ({
    file,
    path: (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name,
  }));
}

/** Names the OS adds to folders, never DICOM: skipped before upload. */
export function isJunk(path: string): boolean {
  const name = path.split('/').pop() ?? path;
  return name === '.DS_Store' || name === 'Thumbs.db' || name === 'desktop.ini' || path.includes('__MACOSX/');
}

export const RESUMABLE_THRESHOLD = 100 * 1024 * 1024;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** Overall progress, by bytes, of per-file progress values. */
export function overallProgress(items: { size: number; loaded: number }[]): number {
  const total = items.reduce((s, i) => s + i.size, 0);
  if (total === 0) return 0;
  return items.reduce((s, i) => s + Math.min(i.loaded, i.size), 0) / total;
}
