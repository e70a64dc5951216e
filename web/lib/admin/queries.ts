import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api/client';
import type { Page } from '@/lib/api/types';
import type {
  ApiKeyCreate,
  ApiKeyCreated,
  ApiKeyRead,
  AuditEvent,
  AuditVerify,
  GroupRead,
  Hl7Message,
  Hl7MessageDetail,
  Hl7Reprocess,
  PermissionRead,
  RoleCreate,
  RoleRead,
  RoleUpdate,
  SystemStatus,
  UserCreate,
  UserRead,
  UserUpdate,
} from './types';

const USERS = ['admin', 'users'] as const;
const ROLES = ['admin', 'roles'] as const;
const KEYS = ['admin', 'api-keys'] as const;

/** GET /api/users (user:read), ordered by username. */
export function useUsers() {
  return useQuery({
    queryKey: USERS,
    queryFn: async () => (await api.get<Page<UserRead>>('/api/users', { params: { limit: 500 } })).data,
    staleTime: 0,
  });
}

function useUserMutation<T>(fn: (arg: T) => Promise<UserRead>) {
  const client = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => client.invalidateQueries({ queryKey: USERS }) });
}

export function useCreateUser() {
  return useUserMutation(async (body: UserCreate) => (await api.post<UserRead>('/api/users', body)).data);
}

export function useUpdateUser() {
  return useUserMutation(
    async ({ id, body }: { id: string; body: UserUpdate }) =>
      (await api.patch<UserRead>(`/api/users/${encodeURIComponent(id)}`, body)).data,
  );
}

export function useUnlockUser() {
  return useUserMutation(
    async (id: string) => (await api.post<UserRead>(`/api/users/${encodeURIComponent(id)}/unlock`)).data,
  );
}

export function useRoles() {
  return useQuery({ queryKey: ROLES, queryFn: async () => (await api.get<RoleRead[]>('/api/roles')).data });
}

export function useGroups() {
  return useQuery({
    queryKey: ['admin', 'groups'],
    queryFn: async () => (await api.get<GroupRead[]>('/api/groups')).data,
  });
}

export function usePermissionCatalogue() {
  return useQuery({
    queryKey: ['admin', 'permissions'],
    queryFn: async () => (await api.get<PermissionRead[]>('/api/permissions')).data,
    staleTime: Infinity,
  });
}

export function useSaveRole() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, body }: { id: string | null; body: RoleCreate | RoleUpdate }) =>
      id
        ? (await api.patch<RoleRead>(`/api/roles/${encodeURIComponent(id)}`, body)).data
        : (await api.post<RoleRead>('/api/roles', body)).data,
    onSuccess: () => client.invalidateQueries({ queryKey: ROLES }),
  });
}

export function useDeleteRole() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => {
      await api.delete(`/api/roles/${encodeURIComponent(id)}`);
    },
    onSuccess: () => client.invalidateQueries({ queryKey: ROLES }),
  });
}

/** GET /api/audit (audit:read), newest first; the previous page stays shown while the next loads. */
export function useAuditEvents(params: Record<string, string>, limit: number, offset: number) {
  return useQuery({
    queryKey: ['admin', 'audit', params, limit, offset],
    queryFn: async () =>
      (await api.get<Page<AuditEvent>>('/api/audit', { params: { ...params, limit, offset } })).data,
    placeholderData: keepPreviousData,
  });
}

export async function verifyAuditChain(): Promise<AuditVerify> {
  return (await api.get<AuditVerify>('/api/audit/verify')).data;
}

/** The filtered events as a CSV file, downloaded through the authenticated client. */
export async function downloadAuditCsv(params: Record<string, string>): Promise<void> {
  const { data } = await api.get<Blob>('/api/audit/export.csv', { params, responseType: 'blob' });
  const url = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = url;
  a.download = `audit-${new Date().toISOString().slice(0, 10)}.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function useApiKeys() {
  return useQuery({ queryKey: KEYS, queryFn: async () => (await api.get<ApiKeyRead[]>('/api/api-keys')).data });
}

export function useCreateApiKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (body: ApiKeyCreate) => (await api.post<ApiKeyCreated>('/api/api-keys', body)).data,
    onSuccess: () => client.invalidateQueries({ queryKey: KEYS }),
  });
}

export function useRevokeApiKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => {
      await api.delete(`/api/api-keys/${encodeURIComponent(id)}`);
    },
    onSuccess: () => client.invalidateQueries({ queryKey: KEYS }),
  });
}

export function useSystemStatus() {
  return useQuery({
    queryKey: ['admin', 'system'],
    queryFn: async () => (await api.get<SystemStatus>('/api/system/status')).data,
    refetchInterval: 15000,
  });
}

/** POST /api/auth/password: one's own password; the server ends every session of the account. */
export async function changeOwnPassword(current: string, next: string): Promise<void> {
  await api.post('/api/auth/password', { current_password: current, new_password: next });
}

const HL7 = ['admin', 'hl7'] as const;

/** GET /api/hl7/messages (hl7:read), newest first, without their text. */
export function useHl7Messages(params: Record<string, string>, limit: number, offset: number) {
  return useQuery({
    queryKey: [...HL7, 'list', params, limit, offset],
    queryFn: async () =>
      (await api.get<Page<Hl7Message>>('/api/hl7/messages', { params: { ...params, limit, offset } })).data,
    placeholderData: keepPreviousData,
  });
}

/** GET /api/hl7/messages/{id}: the text, segment by segment (each read is audited: fetched once). */
export function useHl7Message(id: number | null) {
  return useQuery({
    queryKey: [...HL7, 'one', id],
    queryFn: async () => (await api.get<Hl7MessageDetail>(`/api/hl7/messages/${id}`)).data,
    enabled: id !== null,
    staleTime: Infinity,
  });
}

/** POST /api/hl7/messages/{id}/reprocess (system:admin): received again, stored as a new message. */
export function useReprocessHl7() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: number) => (await api.post<Hl7Reprocess>(`/api/hl7/messages/${id}/reprocess`)).data,
    onSuccess: () => client.invalidateQueries({ queryKey: [...HL7, 'list'] }),
  });
}
