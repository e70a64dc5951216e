import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api/client';
import type { Page } from '@/lib/api/types';
import type {
  MergeResult,
  Patient,
  PatientBody,
  PatientPage,
  PatientStudy,
  Reconciliation,
  TimelineItem,
  Visit,
} from '@/lib/patients/types';
import type { VisitForm } from '@/lib/patients/visit';

export interface PatientFilters {
  q: string;
  sex: string;
  birth_date: string;
  sort: string;
  limit: number;
  offset: number;
  /** Soft-deleted records instead (patient:write), the last deleted first, `q` matching the MRN. */
  deleted?: boolean;
}

export const DEFAULT_PATIENT_FILTERS: PatientFilters = {
  q: '',
  sex: '',
  birth_date: '',
  sort: 'name',
  limit: 25,
  offset: 0,
};

const nonEmpty = (o: object): Record<string, string | number> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== '' && v !== null && v !== undefined));
const id = (n: number | string) => encodeURIComponent(String(n));

/** GET /api/patients (patient:read): search across MRN, name, pinyin, initials, ID and phone. */
export function usePatients(filters: PatientFilters) {
  return useQuery({
    queryKey: ['patients', filters],
    queryFn: async () => {
      const { deleted, ...rest } = filters;
      const params = deleted ? { ...nonEmpty(rest), deleted: 'true' } : nonEmpty(rest);
      return (await api.get<PatientPage>('/api/patients', { params })).data;
    },
    placeholderData: keepPreviousData,
    staleTime: 0,
  });
}

export function usePatient(patientId: string | null) {
  return useQuery({
    queryKey: ['patient', patientId],
    enabled: !!patientId,
    queryFn: async () => (await api.get<Patient>(`/api/patients/${id(patientId ?? '')}`)).data,
    staleTime: 0,
  });
}

export function usePatientStudies(patientId: string | null) {
  return useQuery({
    queryKey: ['patient', patientId, 'studies'],
    enabled: !!patientId,
    queryFn: async () =>
      (await api.get<Page<PatientStudy>>(`/api/patients/${id(patientId ?? '')}/studies`)).data,
  });
}

export function usePatientTimeline(patientId: string | null) {
  return useQuery({
    queryKey: ['patient', patientId, 'timeline'],
    enabled: !!patientId,
    queryFn: async () =>
      (await api.get<{ items: TimelineItem[] }>(`/api/patients/${id(patientId ?? '')}/timeline`)).data,
  });
}

/** Create (patientId null) or update; an update carries the version it was read at (409 if stale). */
export function useSavePatient() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ patientId, body }: { patientId: number | null; body: PatientBody }) =>
      patientId === null
        ? (await api.post<Patient>('/api/patients', body)).data
        : (await api.patch<Patient>(`/api/patients/${id(patientId)}`, body)).data,
    onSuccess: (saved) => {
      client.setQueryData(['patient', String(saved.id)], saved);
      void client.invalidateQueries({ queryKey: ['patients'] });
    },
  });
}

export function useReconciliation() {
  return useQuery({
    queryKey: ['reconciliation'],
    queryFn: async () => (await api.get<Page<Reconciliation>>('/api/patients/reconciliation')).data,
    staleTime: 0,
  });
}

export function useResolveReconciliation() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ itemId, action }: { itemId: number; action: 'keep_record' | 'accept_dicom' }) =>
      (await api.post(`/api/patients/reconciliation/${id(itemId)}/resolve`, { action })).data,
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['reconciliation'] });
      void client.invalidateQueries({ queryKey: ['patient'] });
      void client.invalidateQueries({ queryKey: ['patients'] });
    },
  });
}

export function useMergePatients() {
  const client = useQueryClient();
  const refresh = () => {
    void client.invalidateQueries({ queryKey: ['patients'] });
    void client.invalidateQueries({ queryKey: ['patient'] });
    void client.invalidateQueries({ queryKey: ['reconciliation'] });
  };
  const merge = useMutation({
    mutationFn: async (body: { source_id: number; target_id: number }) =>
      (await api.post<MergeResult>('/api/patients/merge', body)).data,
    onSuccess: refresh,
  });
  const undo = useMutation({
    mutationFn: async (mergeId: number | string) =>
      (await api.post(`/api/patients/merges/${id(mergeId)}/undo`)).data,
    onSuccess: refresh,
  });
  return { merge, undo };
}

/** POST /api/patients/{id}/visits (patient:write); the timeline shows the visit after. */
export function useAddVisit(patientId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (body: VisitForm) =>
      (await api.post<Visit>(`/api/patients/${id(patientId)}/visits`, body)).data,
    onSuccess: () => void client.invalidateQueries({ queryKey: ['patient', patientId, 'timeline'] }),
  });
}

/** DELETE /api/patients/{id} (patient:write): a soft delete, undone by restoring. */
export function useDeletePatient() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (patientId: number) => {
      await api.delete(`/api/patients/${id(patientId)}`);
    },
    onSuccess: (_, patientId) => {
      client.removeQueries({ queryKey: ['patient', String(patientId)] });
      void client.invalidateQueries({ queryKey: ['patients'] });
    },
  });
}

/** POST /api/patients/{id}/restore (patient:write): a soft-deleted record is listed again. */
export function useRestorePatient() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (patientId: number) =>
      (await api.post<Patient>(`/api/patients/${id(patientId)}/restore`)).data,
    onSuccess: () => void client.invalidateQueries({ queryKey: ['patients'] }),
  });
}
