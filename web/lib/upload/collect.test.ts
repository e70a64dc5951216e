import { describe, expect, it } from 'vitest';
import { formatBytes, isJunk, overallProgress } from './collect';

describe('upload helpers', () => {
  it('weights overall progress by bytes', () => {
    expect(overallProgress([{ size: 100, loaded: 100 }, { size: 300, loaded: 0 }])).toBe(0.25);
    expect(overallProgress([])).toBe(0);
  });
  it('skips files the OS adds to folders', () => {
    expect(isJunk('scan/.DS_Store')).toBe(true);
    expect(isJunk('__MACOSX/scan/IM1')).toBe(true);
    expect(isJunk('scan/IM0001')).toBe(false);
  });
  it('formats sizes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(150 * 1024 * 1024)).toBe('150 MB');
  });
});
