'use client';

import { useMemo, useState } from 'react';
import { Chart } from '@/components/statistics/Chart';
import { activeVersion } from '@/lib/ai/applicable';
import { acceptanceChart, labelsChart, latencyChart, runsChart } from '@/lib/ai/charts';
import { aiErrorMessage } from '@/lib/ai/messages';
import { useAiMetrics, useAiModels, useUpdateModel } from '@/lib/ai/queries';
import type { AiModel, AiModelUpdate, AiVersionMetrics } from '@/lib/ai/types';
import { useT } from '@/lib/i18n';
import { ModelUpload } from './ModelUpload';

interface Manifest {
  description?: string;
  intended_use?: string;
  license?: string;
  training_data?: string;
  validation_metrics?: Record<string, number>;
  filters?: { modalities?: string[]; body_parts?: string[] };
}

function filtersText(m: Manifest, any: string): string {
  const parts = [...(m.filters?.modalities ?? []), ...(m.filters?.body_parts ?? [])];
  return parts.length ? parts.join(' · ') : any;
}

function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${n} B`;
}

function ModelCard({ model }: { model: AiModel }) {
  const t = useT();
  const v = activeVersion(model) ?? model.versions[model.versions.length - 1];
  const m = (v?.manifest ?? {}) as Manifest;
  const rows: [string, string | undefined][] = [
    ['description', m.description],
    ['intendedUse', m.intended_use],
    ['license', m.license],
    ['trainingData', m.training_data],
  ];
  const metrics = Object.entries(m.validation_metrics ?? {});
  return (
    <dl className="grid grid-cols-[8rem_1fr] gap-x-3 gap-y-1 text-sm" data-testid="model-card">
      {rows
        .filter(([, value]) => value)
        .map(([key, value]) => (
          <div key={key} className="contents">
            <dt className="text-slate-500">{t(`ai.models.card.${key}`)}</dt>
            <dd className="whitespace-pre-wrap" translate="no">
              {value}
            </dd>
          </div>
        ))}
      {metrics.length > 0 && (
        <>
          <dt className="text-slate-500">{t('ai.models.card.validation')}</dt>
          <dd className="tabular-nums" translate="no">{metrics.map(([k, x]) => `${k} ${x}`).join(' · ')}</dd>
        </>
      )}
    </dl>
  );
}

function Versions({ model }: { model: AiModel }) {
  const t = useT();
  const update = useUpdateModel();
  const [error, setError] = useState<string | null>(null);
  const change = async (body: AiModelUpdate) => {
    setError(null);
    try {
      await update.mutateAsync({ id: model.id, body });
    } catch (err) {
      setError(aiErrorMessage(t, err));
    }
  };
  const versions = [...model.versions].reverse(); // newest first
  return (
    <div>
      <table className="w-full text-sm" data-testid="version-table">
        <thead className="bg-slate-50 text-slate-600">
          <tr>
            {(['version', 'created', 'sha256', 'size', 'state', 'actions'] as const).map((c) => (
              <th key={c} className="px-2 py-1 text-left font-medium">
                {t(`ai.models.col.${c}`)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.id} className="border-t border-slate-100" data-testid="version-row" data-version={v.version} data-enabled={v.enabled ? '1' : '0'} data-active={v.active ? '1' : '0'}>
              <td className="px-2 py-1 font-mono">
                <span translate="no">{v.version}</span>
                {v.active && <span className="ml-1 rounded bg-sky-100 px-1 text-xs text-sky-800">{t('ai.models.activeBadge')}</span>}
              </td>
              <td className="px-2 py-1">
                {v.created_at.slice(0, 16).replace('T', ' ')} <span translate="no">{v.created_by ?? ''}</span>
              </td>
              <td className="px-2 py-1 font-mono text-xs" title={v.sha256 ?? ''} translate="no">
                {v.sha256 ? v.sha256.slice(0, 12) : '—'}
              </td>
              <td className="px-2 py-1 tabular-nums">{v.size ? bytes(v.size) : '—'}</td>
              <td className="px-2 py-1">{v.enabled ? t('ai.models.enabled') : t('ai.models.disabled')}</td>
              <td className="space-x-1 px-2 py-1 whitespace-nowrap">
                {!v.active && (
                  <button type="button" disabled={update.isPending} onClick={() => change({ active_version: v.version })} data-testid="version-activate" className="rounded border border-slate-300 px-2 text-xs hover:bg-slate-100">
                    {t('ai.models.activate')}
                  </button>
                )}
                {v.enabled ? (
                  <button type="button" disabled={update.isPending} onClick={() => change({ disable: v.version })} data-testid="version-disable" className="rounded border border-slate-300 px-2 text-xs hover:bg-slate-100">
                    {t('ai.models.disable')}
                  </button>
                ) : (
                  <button type="button" disabled={update.isPending} onClick={() => change({ enable: v.version })} data-testid="version-enable" className="rounded border border-slate-300 px-2 text-xs hover:bg-slate-100">
                    {t('ai.models.enable')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <label className="mt-2 flex items-center gap-2 text-sm">
        <input type="checkbox" checked={model.auto_run} disabled={update.isPending} onChange={(e) => change({ auto_run: e.target.checked })} data-testid="model-auto-run" />
        {t('ai.models.col.autoRun')}
      </label>
      {error && (
        <p role="alert" className="mt-1 text-sm text-red-600" data-testid="model-error">
          {error}
        </p>
      )}
    </div>
  );
}

function Monitoring({ rows }: { rows: AiVersionMetrics[] }) {
  const t = useT();
  const latest = rows[rows.length - 1];
  const options = useMemo(
    () => ({ runs: runsChart(rows, t), latency: latencyChart(rows, t), acceptance: acceptanceChart(rows, t), labels: labelsChart(latest) }),
    [rows, latest, t],
  );
  return (
    <section data-testid="model-metrics">
      <h3 className="mb-2 text-sm font-semibold text-slate-700">{t('ai.metrics.title')}</h3>
      <table className="mb-3 text-sm" data-testid="metrics-table">
        <thead className="text-slate-600">
          <tr>
            {(['version', 'runs', 'failures', 'latency', 'reviewed', 'accepted', 'acceptance'] as const).map((c) => (
              <th key={c} className="px-2 text-left font-medium">
                {t(`ai.metrics.${c}`)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="tabular-nums">
          {rows.map((r) => (
            <tr key={r.version_id} data-testid="metrics-row" data-version={r.version} data-runs={r.runs}>
              <td className="px-2 font-mono" translate="no">
                {r.version}
              </td>
              <td className="px-2">{r.runs}</td>
              <td className="px-2">{r.failures}</td>
              <td className="px-2">
                {r.latency_p50_ms === null ? '—' : `${Math.round(r.latency_p50_ms)} / ${Math.round(r.latency_p95_ms ?? 0)} ${t('ai.metrics.ms')}`}
              </td>
              <td className="px-2">{r.reviewed}</td>
              <td className="px-2">{r.accepted}</td>
              <td className="px-2">{r.acceptance_rate === null ? '—' : `${Math.round(r.acceptance_rate * 100)}%`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="grid grid-cols-1 gap-3 xl:grid-cols-2">
        <Chart option={options.runs} testId="chart-ai-runs" title={`${t('ai.metrics.runs')} / ${t('ai.metrics.failures')}`} />
        <Chart option={options.latency} testId="chart-ai-latency" title={t('ai.metrics.latency')} />
        <Chart option={options.acceptance} testId="chart-ai-acceptance" title={t('ai.metrics.acceptance')} />
        <Chart option={options.labels} testId="chart-ai-labels" title={`${t('ai.metrics.labels')} · ${latest?.version ?? ''}`} />
      </div>
    </section>
  );
}

/** The model page (ai:manage): models and versions, upload, enable/disable/roll back, monitoring. */
export function ModelManager() {
  const t = useT();
  const { data: models, error } = useAiModels();
  const { data: metrics } = useAiMetrics();
  const [selected, setSelected] = useState<string | null>(null);
  const model = models?.find((m) => m.name === selected) ?? models?.[0];
  const rows = metrics?.versions.filter((v) => v.model === model?.name) ?? [];

  return (
    <div className="flex h-full flex-col gap-3 overflow-auto p-4">
      <div className="flex items-center gap-3">
        <h1 className="text-lg font-semibold">{t('ai.models.title')}</h1>
        {models && <span className="text-sm text-slate-500">{t('ai.models.count', { n: models.length })}</span>}
      </div>
      {error && (
        <p role="alert" className="text-sm text-red-600">
          {aiErrorMessage(t, error)}
        </p>
      )}
      <div className="grid grid-cols-1 gap-3 lg:grid-cols-[minmax(0,2fr)_minmax(0,1fr)]">
        <div className="overflow-auto rounded bg-white shadow-sm">
          <table className="w-full text-sm" data-testid="model-table">
            <thead className="bg-slate-50 text-slate-600">
              <tr>
                {(['name', 'task', 'kind', 'active', 'filters', 'autoRun'] as const).map((c) => (
                  <th key={c} className="px-2 py-2 text-left font-medium">
                    {t(`ai.models.col.${c}`)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {models?.map((m) => {
                const v = activeVersion(m) ?? m.versions[m.versions.length - 1];
                return (
                  <tr
                    key={m.id}
                    onClick={() => setSelected(m.name)}
                    data-testid="model-row"
                    data-name={m.name}
                    className={`cursor-pointer border-t border-slate-100 ${m.id === model?.id ? 'bg-sky-50' : 'hover:bg-slate-50'}`}
                  >
                    <td className="px-2 py-1 font-mono font-medium" translate="no">
                      {m.name}
                    </td>
                    <td className="px-2 py-1">{v ? t(`ai.models.task.${v.task}`) : ''}</td>
                    <td className="px-2 py-1">{v ? t(`ai.models.kind.${v.kind}`) : ''}</td>
                    <td className="px-2 py-1 font-mono" data-testid="model-active-version">
                      {m.active_version ?? t('ai.models.none')}
                    </td>
                    <td className="px-2 py-1" translate="no">
                      {v ? filtersText(v.manifest as Manifest, t('ai.models.any')) : ''}
                    </td>
                    <td className="px-2 py-1">{m.auto_run ? '✓' : ''}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {models?.length === 0 && <p className="p-3 text-sm text-slate-500">{t('ai.models.empty')}</p>}
        </div>
        <ModelUpload onDone={setSelected} />
      </div>
      {model && (
        <section className="space-y-3 rounded bg-white p-3 shadow-sm" data-testid="model-detail" data-name={model.name}>
          <h2 className="font-mono text-base font-semibold" translate="no">
            {model.name}
          </h2>
          <ModelCard model={model} />
          <Versions model={model} />
          <Monitoring rows={rows} />
        </section>
      )}
    </div>
  );
}
