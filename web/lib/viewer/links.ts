/** What links the panes of the viewer: which panes a window/level change is copied to. */

/**
 * The panes that follow the window/level of `source` when W/L is linked: the other panes
 * showing the same modality (a CT window means nothing on MR). None when the source's
 * modality is unknown (no series, or not loaded yet).
 */
export function linkedVoiTargets(modalities: readonly (string | null | undefined)[], source: number): number[] {
  const modality = modalities[source];
  if (!modality) return [];
  const out: number[] = [];
  modalities.forEach((m, i) => {
    if (i !== source && m === modality) out.push(i);
  });
  return out;
}
