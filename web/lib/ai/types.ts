/** Shapes of the AI API (/api/ai), generated from the backend's OpenAPI (schema.d.ts). */
import type { components } from '@/lib/api/schema';

type Schemas = components['schemas'];

export type AiModel = Schemas['ModelRead'];
export type AiModelVersion = Schemas['ModelVersionRead'];
export type AiRun = Schemas['RunRead'];
export type AiFinding = Schemas['FindingRead'];
export type AiReview = Schemas['ReviewRequest'];
export type AiFindingMask = Schemas['MaskRead'];
export type AiGeometry = Schemas['Geometry'];
export type AiModelUpdate = Schemas['ModelUpdate'];
export type AiMetrics = Schemas['MetricsRead'];
export type AiVersionMetrics = Schemas['VersionMetrics'];
export type AiRunStatus = AiRun['status'];
export type AiFindingStatus = AiFinding['status'];

/** The manifest filters the viewer needs to pick the models that fit a series. */
export interface ManifestFilters {
  modalities?: string[];
  body_parts?: string[];
}
