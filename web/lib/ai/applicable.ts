/** Which models fit a series, and what a run's and a finding's state mean for the panel. */
import type { AiFinding, AiModel, AiModelVersion, AiRun, ManifestFilters } from './types';

export function activeVersion(model: AiModel): AiModelVersion | null {
  return model.versions.find((v) => v.id === model.active_version_id && v.enabled) ?? null;
}

function allows(allowed: string[] | undefined, value: string | null | undefined): boolean {
  if (!allowed || allowed.length === 0) return true;
  const v = (value ?? '').trim().toUpperCase();
  return allowed.some((a) => a.toUpperCase() === v);
}

/**
 * The models whose active version's filters accept the series (modality, body part), the
 * same rule as the server's (an empty filter accepts anything). SOP class and station
 * filters are left to the server, which reads the headers.
 */
export function applicableModels(
  models: AiModel[],
  series: { modality: string; body_part_examined: string } | null | undefined,
): AiModel[] {
  if (!series) return [];
  return models.filter((m) => {
    const v = activeVersion(m);
    if (!v) return false;
    const filters = (v.manifest as { filters?: ManifestFilters }).filters ?? {};
    return allows(filters.modalities, series.modality) && allows(filters.body_parts, series.body_part_examined);
  });
}

export function runDone(run: AiRun | undefined | null): boolean {
  return !!run && (run.status === 'succeeded' || run.status === 'failed');
}

/** The label a doctor sees: an edit's label wins over the model's. */
export function shownLabel(f: AiFinding): string {
  return f.edited_label || f.label;
}

/** Unreviewed findings are AI suggestions; they never count as the doctor's. */
export function isSuggestion(f: AiFinding): boolean {
  return f.status === 'suggestion';
}

/** 0.934 → "93.4%". */
export function percent(p: number): string {
  return `${(Math.round(p * 1000) / 10).toFixed(1)}%`;
}

/** Measurements shown beside a finding: the known ones by name, the per-class scores left out. */
export function shownMeasurements(f: AiFinding): [string, number][] {
  return Object.entries(f.measurements).filter(([k]) => !k.startsWith('p_') && k !== 'lung_voxels');
}
