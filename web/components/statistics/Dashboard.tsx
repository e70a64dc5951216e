'use client';

import { useMemo, useState } from 'react';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import { isoDate } from '@/lib/dates';
import { useT } from '@/lib/i18n';
import { useStatistics } from '@/lib/queries/worklist';
import { dayChart, departmentChart, minutes, modalityChart, sourceChart, turnaroundChart, workloadChart } from '@/lib/statistics/charts';
import { Chart } from './Chart';

function lastDays(n: number): { date_from: string; date_to: string } {
  const now = new Date();
  return { date_from: isoDate(new Date(now.getFullYear(), now.getMonth(), now.getDate() - (n - 1))), date_to: isoDate(now) };
}

/** 统计: studies per modality / day / department, turnaround percentiles, workload, sources. */
export function Dashboard() {
  const t = useT();
  const [range, setRange] = useState(() => lastDays(30));
  const { data, error, isFetching } = useStatistics(range);
  const charts = useMemo(
    () =>
      data && {
        modality: modalityChart(data, t),
        day: dayChart(data, t),
        department: departmentChart(data, t),
        turnaround: turnaroundChart(data, t),
        workload: workloadChart(data, t),
        source: sourceChart(data, t),
      },
    // t changes with the locale only.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [data, t('statistics.studies')],
  );
  const total = data?.by_modality.reduce((n, m) => n + m.count, 0) ?? 0;
  const input = 'mt-0.5 block rounded border border-slate-300 px-2 py-1 text-sm text-slate-900';
  return (
    <div className="flex h-full flex-col gap-3 overflow-auto p-4">
      <div className="flex flex-wrap items-end gap-2 rounded bg-white p-3 shadow-sm">
        <h1 className="mr-4 text-lg font-semibold">{t('statistics.title')}</h1>
        <label className="text-xs text-slate-600">
          {t('worklist.dateFrom')}
          <input type="date" data-testid="stats-from" value={range.date_from} onChange={(e) => setRange((r) => ({ ...r, date_from: e.target.value }))} className={input} />
        </label>
        <label className="text-xs text-slate-600">
          {t('worklist.dateTo')}
          <input type="date" data-testid="stats-to" value={range.date_to} onChange={(e) => setRange((r) => ({ ...r, date_to: e.target.value }))} className={input} />
        </label>
        {[7, 30, 90].map((n) => (
          <button key={n} type="button" onClick={() => setRange(lastDays(n))} className="rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100">
            {t('statistics.lastDays', { n })}
          </button>
        ))}
        {isFetching && <span className="text-sm text-slate-500">{t('common.loading')}</span>}
        {data && (
          <dl className="ml-auto flex gap-6 text-sm">
            <div>
              <dt className="text-xs text-slate-500">{t('statistics.totalStudies')}</dt>
              <dd className="text-lg font-semibold tabular-nums" data-testid="stats-total">
                {total}
              </dd>
            </div>
            <div>
              <dt className="text-xs text-slate-500">{t('statistics.medianFinal')}</dt>
              <dd className="text-lg font-semibold tabular-nums">
                {minutes(data.turnaround.final.p50) ?? '—'} {t('statistics.min')}
              </dd>
            </div>
          </dl>
        )}
      </div>
      {error && (
        <p role="alert" className="text-sm text-red-600">
          {errorMessage(t, describeError(error))}
        </p>
      )}
      {charts && (
        <div className="grid grid-cols-1 gap-3 lg:grid-cols-2 xl:grid-cols-3">
          <Chart testId="chart-modality" title={t('statistics.byModality')} option={charts.modality} />
          <Chart testId="chart-day" title={t('statistics.byDay')} option={charts.day} />
          <Chart testId="chart-department" title={t('statistics.byDepartment')} option={charts.department} />
          <Chart testId="chart-turnaround" title={t('statistics.turnaroundTitle')} option={charts.turnaround} />
          <Chart testId="chart-workload" title={t('statistics.workload')} option={charts.workload} />
          <Chart testId="chart-source" title={t('statistics.bySource')} option={charts.source} />
        </div>
      )}
    </div>
  );
}
