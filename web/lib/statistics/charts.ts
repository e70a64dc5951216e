/**
 * echarts options for the statistics dashboard, built from the /api/statistics document.
 * Pure functions (tested); the component only mounts them.
 */
import type { Statistics } from '@/lib/orders/types';
import type { TFunction } from '@/lib/i18n';

// Structural subset of echarts' option type: enough for these charts, no `any`.
export interface ChartOption {
  [key: string]: unknown;
}

const BASE = { grid: { left: 48, right: 16, top: 24, bottom: 32 }, tooltip: { trigger: 'axis' } };

function bars(labels: string[], values: number[], name: string, horizontal = false): ChartOption {
  const category = { type: 'category', data: labels };
  const value = { type: 'value', minInterval: 1 };
  return {
    ...BASE,
    grid: horizontal ? { left: 96, right: 24, top: 16, bottom: 24 } : BASE.grid,
    xAxis: horizontal ? value : category,
    yAxis: horizontal ? category : value,
    series: [{ type: 'bar', name, data: values, label: { show: true, position: horizontal ? 'right' : 'top' } }],
  };
}

export function modalityChart(s: Statistics, t: TFunction): ChartOption {
  return bars(s.by_modality.map((m) => m.modality || t('statistics.unknown')), s.by_modality.map((m) => m.count), t('statistics.studies'));
}

export function dayChart(s: Statistics, t: TFunction): ChartOption {
  return {
    ...BASE,
    xAxis: { type: 'category', data: s.by_day.map((d) => d.day) },
    yAxis: { type: 'value', minInterval: 1 },
    series: [{ type: 'line', name: t('statistics.studies'), data: s.by_day.map((d) => d.count), areaStyle: {}, smooth: false }],
  };
}

export function departmentChart(s: Statistics, t: TFunction): ChartOption {
  return bars(s.by_department.map((d) => d.department || t('statistics.unknown')), s.by_department.map((d) => d.count), t('statistics.studies'), true);
}

export function workloadChart(s: Statistics, t: TFunction): ChartOption {
  return bars(s.workload.map((w) => w.name), s.workload.map((w) => w.count), t('statistics.readings'), true);
}

export function sourceChart(s: Statistics, t: TFunction): ChartOption {
  const label = (source: string) =>
    ['outpatient', 'inpatient', 'emergency', 'physical'].includes(source) ? t(`orders.source.${source}`) : source || t('statistics.unknown');
  return {
    tooltip: { trigger: 'item' },
    legend: { bottom: 0 },
    series: [
      {
        type: 'pie',
        radius: ['35%', '65%'],
        data: s.by_source.map((x) => ({ name: label(x.source), value: x.count })),
        label: { formatter: '{b}: {c}' },
      },
    ],
  };
}

/** Minutes, one decimal; null (no finished study yet) stays null so the bar is absent. */
export function minutes(seconds: number | null): number | null {
  return seconds === null ? null : Math.round(seconds / 6) / 10;
}

export function turnaroundChart(s: Statistics, t: TFunction): ChartOption {
  const kinds = ['p50', 'p90', 'p95'] as const;
  return {
    ...BASE,
    legend: { top: 0 },
    grid: { ...BASE.grid, top: 32 },
    xAxis: { type: 'category', data: kinds.map((k) => k.toUpperCase()) },
    yAxis: { type: 'value', name: t('statistics.minutes') },
    series: (['preliminary', 'final'] as const).map((stage) => ({
      type: 'bar',
      name: t(`statistics.turnaround.${stage}`),
      data: kinds.map((k) => minutes(s.turnaround[stage][k])),
      label: { show: true, position: 'top' },
    })),
  };
}
