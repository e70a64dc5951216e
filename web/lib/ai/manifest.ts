/** A first look at an uploaded manifest before it is sent (the server validates it fully). */
export type ManifestCheck =
  | { ok: true; name: string; version: string; kind: string }
  | { ok: false; problem: 'json' | 'object' | 'name' | 'version' | 'file' };

export function checkManifest(text: string, hasFile: boolean): ManifestCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'json' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, problem: 'object' };
  const m = parsed as { name?: unknown; version?: unknown; kind?: unknown };
  if (typeof m.name !== 'string' || !m.name) return { ok: false, problem: 'name' };
  if (typeof m.version !== 'string' || !m.version) return { ok: false, problem: 'version' };
  const kind = typeof m.kind === 'string' ? m.kind : 'onnx';
  if (kind === 'onnx' && !hasFile) return { ok: false, problem: 'file' };
  return { ok: true, name: m.name, version: m.version, kind };
}
