import { describe, expect, it } from 'vitest';
import { changes, clearLocal, contentOf, initialContent, loadLocal, saveLocal } from './draft';
import { keyImageFrom, parseImageId } from './keyImage';
import type { Report } from './types';

class MemoryStorage implements Storage {
  private m = new Map<string, string>();
  get length() {
    return this.m.size;
  }
  clear() {
    this.m.clear();
  }
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  key(i: number) {
    return [...this.m.keys()][i] ?? null;
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
}

const report = { id: 'r1', version: 3, findings: 'a', impression: 'b', recommendation: '', structured: {}, key_images: [] } as unknown as Report;

describe('local draft', () => {
  it('keeps an unsaved draft and reopens with it', () => {
    const s = new MemoryStorage();
    const content = { ...contentOf(report), findings: 'a 右肺结节' };
    saveLocal(s, { reportId: 'r1', baseVersion: 3, content, savedAt: 1 });
    const opened = initialContent(report, loadLocal(s, 'r1'));
    expect(opened.pending).toBe(true);
    expect(opened.content.findings).toBe('a 右肺结节');
  });

  it('opens the server content once it holds the same text', () => {
    const s = new MemoryStorage();
    saveLocal(s, { reportId: 'r1', baseVersion: 3, content: contentOf(report), savedAt: 1 });
    expect(initialContent(report, loadLocal(s, 'r1')).pending).toBe(false);
    clearLocal(s, 'r1');
    expect(loadLocal(s, 'r1')).toBeNull();
  });

  it('ignores a corrupt entry', () => {
    const s = new MemoryStorage();
    s.setItem('hf.report.draft.r1', '{not json');
    expect(loadLocal(s, 'r1')).toBeNull();
  });

  it('sends only the changed fields', () => {
    const from = contentOf(report);
    expect(changes(from, { ...from, impression: 'c' })).toEqual({ impression: 'c' });
    expect(changes(from, from)).toEqual({});
  });
});

describe('key image', () => {
  const id = 'wadors:http://h/dicom-web/studies/1.2/series/1.2.3/instances/1.2.3.4/frames/2';
  it('parses the instance and frame', () => {
    expect(parseImageId(id)).toEqual({ series: '1.2.3', sop: '1.2.3.4', frame: 2 });
    expect(parseImageId('dicomfile:x')).toBeNull();
  });
  it('turns a VOI range into W/L', () => {
    const k = keyImageFrom(id, { lower: -160, upper: 240 }, []);
    expect(k).toMatchObject({ window_center: 40, window_width: 400, frame: 2 });
  });
});
