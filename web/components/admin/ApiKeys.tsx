'use client';

import { useState, type FormEvent } from 'react';
import { Modal } from '@/components/devices/DeviceDialog';
import { formatDateTime } from '@/lib/admin/format';
import { adminErrorMessage } from '@/lib/admin/messages';
import { useApiKeys, useCreateApiKey, useRevokeApiKey, useRoles } from '@/lib/admin/queries';
import type { ApiKeyCreated, ApiKeyRead } from '@/lib/admin/types';
import { describeError } from '@/lib/api/errors';
import { hasPermission, useSession } from '@/lib/auth/store';
import { useT } from '@/lib/i18n';
import { BUTTON, Field, INPUT, PRIMARY } from './AdminLayout';

function keyState(k: ApiKeyRead): 'revoked' | 'expired' | 'active' {
  if (k.revoked_at) return 'revoked';
  return new Date(k.expires_at).getTime() < Date.now() ? 'expired' : 'active';
}

function NewKeyDialog({ onClose }: { onClose: () => void }) {
  const t = useT();
  const { data: roles } = useRoles();
  const create = useCreateApiKey();
  const [name, setName] = useState('');
  const [role, setRole] = useState('');
  const [days, setDays] = useState(90);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      setCreated(await create.mutateAsync({ name: name.trim(), role, expires_in_days: days }));
    } catch (err) {
      setError(adminErrorMessage(t, describeError(err)));
    }
  };

  if (created) {
    return (
      <Modal label={t('admin.keys.createdTitle')} testId="key-dialog" onClose={onClose}>
        <p className="mb-2 text-amber-800">{t('admin.keys.shownOnce')}</p>
        <code className="block break-all rounded bg-slate-100 p-2 font-mono" data-testid="key-secret" translate="no">
          {created.key}
        </code>
        <div className="mt-3 flex justify-end">
          <button type="button" onClick={onClose} className={PRIMARY} data-testid="key-done">
            {t('admin.close')}
          </button>
        </div>
      </Modal>
    );
  }
  return (
    <Modal label={t('admin.keys.new')} testId="key-dialog" onClose={onClose}>
      <form onSubmit={submit} className="space-y-3">
        <Field label={t('admin.keys.name')}>
          <input name="name" required pattern="[a-z0-9][a-z0-9_.\-]{1,47}" value={name} onChange={(e) => setName(e.target.value)} className={INPUT} />
        </Field>
        <Field label={t('admin.keys.role')}>
          <select name="role" required value={role} onChange={(e) => setRole(e.target.value)} className={INPUT}>
            <option value="">{t('admin.keys.chooseRole')}</option>
            {roles?.map((r) => (
              <option key={r.id} value={r.name} translate={r.builtin ? undefined : 'no'}>
                {r.builtin ? t(`admin.roles.builtin.${r.name}`) : r.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('admin.keys.days')}>
          <input name="expires_in_days" type="number" min={1} max={365} value={days} onChange={(e) => setDays(Number(e.target.value))} className={INPUT} />
        </Field>
        {error && (
          <p role="alert" data-testid="key-error" className="text-red-600">
            {error}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <button type="button" onClick={onClose} className={BUTTON}>
            {t('admin.cancel')}
          </button>
          <button type="submit" data-testid="key-save" disabled={create.isPending} className={PRIMARY}>
            {t('admin.keys.create')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** API keys of peers (service accounts): create (shown once), list, revoke. */
export function ApiKeys() {
  const t = useT();
  const me = useSession((s) => s.me);
  const canManage = hasPermission(me, 'user:manage');
  const { data: keys, error } = useApiKeys();
  const revoke = useRevokeApiKey();
  const [open, setOpen] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);

  const onRevoke = async (k: ApiKeyRead) => {
    if (!window.confirm(t('admin.keys.confirmRevoke', { name: k.name }))) return;
    setActionError(null);
    try {
      await revoke.mutateAsync(k.id);
    } catch (err) {
      setActionError(adminErrorMessage(t, describeError(err)));
    }
  };

  return (
    <div className="flex flex-col gap-3">
      <div className="flex items-center gap-3">
        <h1 className="text-lg font-semibold">{t('admin.sections.apiKeys')}</h1>
        {canManage && (
          <button type="button" data-testid="key-add" onClick={() => setOpen(true)} className={`ml-auto ${PRIMARY}`}>
            {t('admin.keys.new')}
          </button>
        )}
      </div>
      <p className="text-sm text-slate-500">{t('admin.keys.intro')}</p>
      {(error || actionError) && (
        <p role="alert" className="text-sm text-red-600">
          {actionError ?? adminErrorMessage(t, describeError(error))}
        </p>
      )}
      <table className="w-full rounded bg-white text-sm shadow-sm" data-testid="key-table">
        <thead className="bg-slate-50 text-slate-600">
          <tr>
            {['name', 'prefix', 'role', 'created', 'expires', 'lastUsed', 'state'].map((c) => (
              <th key={c} className="px-2 py-2 text-left font-medium">
                {t(`admin.keys.col.${c}`)}
              </th>
            ))}
            {canManage && <th className="px-2 py-2" />}
          </tr>
        </thead>
        <tbody>
          {keys?.map((k) => {
            const state = keyState(k);
            return (
              <tr key={k.id} data-testid="key-row" data-name={k.name} data-state={state} className="border-t border-slate-100">
                <td className="px-2 py-1 font-mono" translate="no">{k.name}</td>
                <td className="px-2 py-1 font-mono" translate="no">{k.prefix}…</td>
                <td className="px-2 py-1" translate="no">
                  {['admin', 'doctor', 'department_head', 'technician', 'nurse'].includes(k.role) ? t(`admin.roles.builtin.${k.role}`) : k.role}
                </td>
                <td className="px-2 py-1 whitespace-nowrap">{formatDateTime(k.created_at)}</td>
                <td className="px-2 py-1 whitespace-nowrap">{formatDateTime(k.expires_at)}</td>
                <td className="px-2 py-1 whitespace-nowrap">{k.last_used_at ? formatDateTime(k.last_used_at) : '—'}</td>
                <td className="px-2 py-1">{t(`admin.keys.state.${state}`)}</td>
                {canManage && (
                  <td className="px-2 py-1 text-right">
                    {state === 'active' && (
                      <button type="button" data-testid="key-revoke" className={BUTTON} onClick={() => void onRevoke(k)}>
                        {t('admin.keys.revoke')}
                      </button>
                    )}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
      {open && <NewKeyDialog onClose={() => setOpen(false)} />}
    </div>
  );
}
