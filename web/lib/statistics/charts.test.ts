import { describe, expect, it } from 'vitest';
import { translate } from '@/lib/i18n';
import type { Statistics } from '@/lib/orders/types';
import { minutes, modalityChart, sourceChart, turnaroundChart } from './charts';

const zh = (k: string, v?: Record<string, string | number>) => translate('zh-CN', k, v);
const stats: Statistics = {
  by_modality: [{ modality: 'CT', count: 3 }, { modality: '', count: 1 }],
  by_day: [{ day: '2026-12-01', count: 4 }],
  by_department: [],
  turnaround: { preliminary: { p50: 600, p90: 1800, p95: null }, final: { p50: null, p90: null, p95: null } },
  workload: [],
  by_source: [{ source: 'emergency', count: 2 }],
};

describe('statistics charts', () => {
  it('labels modalities, unknown ones in words', () => {
    const o = modalityChart(stats, zh) as { xAxis: { data: string[] }; series: { data: number[] }[] };
    expect(o.xAxis.data).toEqual(['CT', '未知']);
    expect(o.series[0].data).toEqual([3, 1]);
  });
  it('shows turnaround in minutes, missing percentiles as gaps', () => {
    expect(minutes(90)).toBe(1.5);
    const o = turnaroundChart(stats, zh) as { series: { name: string; data: (number | null)[] }[] };
    expect(o.series[0].data).toEqual([10, 30, null]);
    expect(o.series[0].name).toBe('报告初稿');
  });
  it('names patient sources in Chinese', () => {
    const o = sourceChart(stats, zh) as { series: { data: { name: string }[] }[] };
    expect(o.series[0].data[0].name).toBe('急诊');
  });
});
