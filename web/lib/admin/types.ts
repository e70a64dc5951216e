/** Shapes of the administration API, generated from the backend's OpenAPI (npm run gen:api). */
import type { components } from '@/lib/api/schema';

type Schemas = components['schemas'];

export type UserRead = Schemas['UserRead'];
export type UserCreate = Schemas['UserCreate'];
export type UserUpdate = Schemas['UserUpdate'];
export type RoleRead = Schemas['RoleRead'];
export type RoleCreate = Schemas['RoleCreate'];
export type RoleUpdate = Schemas['RoleUpdate'];
export type PermissionRead = Schemas['PermissionRead'];
export type GroupRead = Schemas['GroupRead'];
export type AuditEvent = Schemas['AuditEventRead'];
export type AuditVerify = Schemas['AuditVerifyRead'];
export type ApiKeyRead = Schemas['ApiKeyRead'];
export type ApiKeyCreated = Schemas['ApiKeyCreated'];
export type ApiKeyCreate = Schemas['ApiKeyCreate'];
export type SystemStatus = Schemas['SystemStatus'];
export type Hl7Message = Schemas['Hl7MessageRead'];
export type Hl7MessageDetail = Schemas['Hl7MessageDetail'];
export type Hl7Reprocess = Schemas['Hl7ReprocessRead'];
