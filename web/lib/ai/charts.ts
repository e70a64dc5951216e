/**
 * echarts options for the model page's monitoring, from /api/ai/metrics: per version of one
 * model, and the label distribution of one version over time (a drift signal). Pure functions.
 */
import type { ChartOption } from '@/lib/statistics/charts';
import type { TFunction } from '@/lib/i18n';
import type { AiVersionMetrics } from './types';

const BASE = { grid: { left: 56, right: 16, top: 36, bottom: 32 }, tooltip: { trigger: 'axis' }, legend: { top: 0 } };

function perVersion(rows: AiVersionMetrics[], series: { name: string; data: (number | null)[] }[], unit?: string): ChartOption {
  return {
    ...BASE,
    xAxis: { type: 'category', data: rows.map((r) => r.version) },
    yAxis: { type: 'value', name: unit, minInterval: unit ? 0 : 1 },
    series: series.map((s) => ({ type: 'bar', ...s, label: { show: true, position: 'top' } })),
  };
}

export function runsChart(rows: AiVersionMetrics[], t: TFunction): ChartOption {
  return perVersion(rows, [
    { name: t('ai.metrics.runs'), data: rows.map((r) => r.runs) },
    { name: t('ai.metrics.failures'), data: rows.map((r) => r.failures) },
  ]);
}

/** Milliseconds, whole; a version without a finished run has no bar. */
export function latencyChart(rows: AiVersionMetrics[], t: TFunction): ChartOption {
  const ms = (v: number | null) => (v === null ? null : Math.round(v));
  return perVersion(
    rows,
    [
      { name: 'p50', data: rows.map((r) => ms(r.latency_p50_ms)) },
      { name: 'p95', data: rows.map((r) => ms(r.latency_p95_ms)) },
    ],
    t('ai.metrics.ms'),
  );
}

/** Percent of reviewed findings accepted (or edited); none reviewed: no bar. */
export function acceptanceChart(rows: AiVersionMetrics[], t: TFunction): ChartOption {
  const pct = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 10);
  return {
    ...perVersion(rows, [{ name: t('ai.metrics.acceptance'), data: rows.map((r) => pct(r.acceptance_rate)) }], '%'),
    yAxis: { type: 'value', name: '%', min: 0, max: 100 },
  };
}

/** Findings per label and day, stacked: a shift in the mix is a drift signal. */
export function labelsChart(row: AiVersionMetrics | undefined): ChartOption {
  const days = Object.keys(row?.labels_per_day ?? {}).sort();
  const labels = [...new Set(days.flatMap((d) => Object.keys(row?.labels_per_day[d] ?? {})))].sort();
  return {
    ...BASE,
    xAxis: { type: 'category', data: days },
    yAxis: { type: 'value', minInterval: 1 },
    series: labels.map((label) => ({
      type: 'bar',
      stack: 'labels',
      name: label,
      data: days.map((d) => row?.labels_per_day[d]?.[label] ?? 0),
    })),
  };
}
