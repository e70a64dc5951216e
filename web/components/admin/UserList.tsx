'use client';

import { useState, type FormEvent } from 'react';
import { Modal } from '@/components/devices/DeviceDialog';
import { adminErrorMessage, passwordProblems } from '@/lib/admin/messages';
import { useCreateUser, useRoles, useUnlockUser, useUpdateUser, useUsers } from '@/lib/admin/queries';
import type { UserRead } from '@/lib/admin/types';
import { describeError } from '@/lib/api/errors';
import { formatDateTime } from '@/lib/admin/format';
import { hasPermission, useSession } from '@/lib/auth/store';
import { useT } from '@/lib/i18n';
import { BUTTON, Field, INPUT, PRIMARY } from './AdminLayout';

const BUILTIN = ['admin', 'doctor', 'department_head', 'technician', 'nurse'];

type Dialog = { kind: 'new' } | { kind: 'edit'; user: UserRead } | { kind: 'password'; user: UserRead } | null;

function useErrorText() {
  const t = useT();
  return (err: unknown) => adminErrorMessage(t, describeError(err), passwordProblems(err));
}

function RolePicker({ chosen, onChange }: { chosen: string[]; onChange: (roles: string[]) => void }) {
  const t = useT();
  const { data: roles } = useRoles();
  return (
    <div className="flex flex-wrap gap-3" data-testid="user-roles">
      {roles?.map((r) => (
        <label key={r.id} className="flex items-center gap-1">
          <input
            type="checkbox"
            name={`role-${r.name}`}
            checked={chosen.includes(r.name)}
            onChange={(e) => onChange(e.target.checked ? [...chosen, r.name] : chosen.filter((n) => n !== r.name))}
          />
          {r.builtin ? t(`admin.roles.builtin.${r.name}`) : <span translate="no">{r.name}</span>}
        </label>
      ))}
    </div>
  );
}

function NewUserDialog({ onClose }: { onClose: () => void }) {
  const t = useT();
  const errorText = useErrorText();
  const create = useCreateUser();
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await create.mutateAsync({ username: username.trim(), display_name: displayName, password, roles, groups: [] });
      onClose();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <Modal label={t('admin.users.new')} testId="user-dialog" onClose={onClose}>
      <form onSubmit={submit} className="space-y-3">
        <Field label={t('admin.users.username')}>
          <input name="username" required value={username} onChange={(e) => setUsername(e.target.value)} className={INPUT} />
        </Field>
        <Field label={t('admin.users.displayName')}>
          <input name="display_name" value={displayName} onChange={(e) => setDisplayName(e.target.value)} className={INPUT} />
        </Field>
        <Field label={t('admin.users.initialPassword')}>
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            className={INPUT}
          />
        </Field>
        <p className="text-xs text-slate-500">{t('admin.users.mustChangeHint')}</p>
        <Field label={t('admin.users.roles')}>
          <RolePicker chosen={roles} onChange={setRoles} />
        </Field>
        {error && (
          <p role="alert" data-testid="user-error" className="text-red-600">
            {error}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <button type="button" onClick={onClose} className={BUTTON}>
            {t('admin.cancel')}
          </button>
          <button type="submit" data-testid="user-save" disabled={create.isPending} className={PRIMARY}>
            {t('admin.save')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function EditUserDialog({ user, onClose }: { user: UserRead; onClose: () => void }) {
  const t = useT();
  const errorText = useErrorText();
  const update = useUpdateUser();
  const [displayName, setDisplayName] = useState(user.display_name);
  const [roles, setRoles] = useState<string[]>(user.roles);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await update.mutateAsync({ id: user.id, body: { display_name: displayName, roles } });
      onClose();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <Modal label={t('admin.users.edit', { name: user.username })} testId="user-dialog" onClose={onClose}>
      <form onSubmit={submit} className="space-y-3">
        <Field label={t('admin.users.displayName')}>
          <input name="display_name" value={displayName} onChange={(e) => setDisplayName(e.target.value)} className={INPUT} />
        </Field>
        <Field label={t('admin.users.roles')}>
          <RolePicker chosen={roles} onChange={setRoles} />
        </Field>
        {error && (
          <p role="alert" data-testid="user-error" className="text-red-600">
            {error}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <button type="button" onClick={onClose} className={BUTTON}>
            {t('admin.cancel')}
          </button>
          <button type="submit" data-testid="user-save" disabled={update.isPending} className={PRIMARY}>
            {t('admin.save')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function ResetPasswordDialog({ user, onClose }: { user: UserRead; onClose: () => void }) {
  const t = useT();
  const errorText = useErrorText();
  const update = useUpdateUser();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await update.mutateAsync({ id: user.id, body: { password } });
      onClose();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <Modal label={t('admin.users.resetTitle', { name: user.username })} testId="password-dialog" onClose={onClose}>
      <form onSubmit={submit} className="space-y-3">
        <Field label={t('admin.users.newPassword')}>
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            className={INPUT}
          />
        </Field>
        <p className="text-xs text-slate-500">{t('admin.users.resetHint')}</p>
        {error && (
          <p role="alert" data-testid="password-error" className="text-red-600">
            {error}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <button type="button" onClick={onClose} className={BUTTON}>
            {t('admin.cancel')}
          </button>
          <button type="submit" data-testid="password-save" disabled={update.isPending} className={PRIMARY}>
            {t('admin.users.reset')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function UserState({ user }: { user: UserRead }) {
  const t = useT();
  const tags: [string, string][] = [];
  if (!user.active) tags.push(['disabled', 'bg-slate-200 text-slate-600']);
  if (user.locked) tags.push(['locked', 'bg-red-100 text-red-700']);
  if (user.must_change_password) tags.push(['mustChange', 'bg-amber-100 text-amber-800']);
  if (user.service_account) tags.push(['service', 'bg-sky-100 text-sky-800']);
  if (user.demo) tags.push(['demo', 'bg-amber-100 text-amber-800']);
  if (tags.length === 0) tags.push(['active', 'text-emerald-700']);
  return (
    <span className="flex flex-wrap gap-1" data-testid="user-state">
      {tags.map(([key, cls]) => (
        <span key={key} data-state={key} className={`rounded px-1.5 text-xs ${cls}`}>
          {t(`admin.users.state.${key}`)}
        </span>
      ))}
    </span>
  );
}

/** Accounts: create, edit roles, disable/enable, unlock, reset the password (user:manage). */
export function UserList() {
  const t = useT();
  const errorText = useErrorText();
  const me = useSession((s) => s.me);
  const canManage = hasPermission(me, 'user:manage');
  const { data, error } = useUsers();
  const update = useUpdateUser();
  const unlock = useUnlockUser();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [actionError, setActionError] = useState<string | null>(null);

  const act = async (fn: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await fn();
    } catch (err) {
      setActionError(errorText(err));
    }
  };

  return (
    <div className="flex flex-col gap-3">
      <div className="flex items-center gap-3">
        <h1 className="text-lg font-semibold">{t('admin.sections.users')}</h1>
        {data && <span className="text-sm text-slate-500">{t('admin.users.count', { n: data.total })}</span>}
        {canManage && (
          <button type="button" data-testid="user-add" onClick={() => setDialog({ kind: 'new' })} className={`ml-auto ${PRIMARY}`}>
            {t('admin.users.new')}
          </button>
        )}
      </div>
      {(error || actionError) && (
        <p role="alert" data-testid="users-error" className="text-sm text-red-600">
          {actionError ?? errorText(error)}
        </p>
      )}
      <table className="w-full rounded bg-white text-sm shadow-sm" data-testid="user-table">
        <thead className="bg-slate-50 text-slate-600">
          <tr>
            <th className="px-2 py-2 text-left font-medium">{t('admin.users.username')}</th>
            <th className="px-2 py-2 text-left font-medium">{t('admin.users.displayName')}</th>
            <th className="px-2 py-2 text-left font-medium">{t('admin.users.roles')}</th>
            <th className="px-2 py-2 text-left font-medium">{t('admin.users.stateTitle')}</th>
            <th className="px-2 py-2 text-left font-medium">{t('admin.users.created')}</th>
            {canManage && <th className="px-2 py-2" />}
          </tr>
        </thead>
        <tbody>
          {data?.items.map((u) => (
            <tr key={u.id} data-testid="user-row" data-username={u.username} className="border-t border-slate-100">
              <td className="px-2 py-1 font-mono" translate="no">{u.username}</td>
              <td className="px-2 py-1" translate="no">
                {u.display_name}
              </td>
              <td className="px-2 py-1">
                {u.roles.map((r) => (
                  <span key={r} className="mr-1 rounded bg-slate-100 px-1.5 text-xs" translate={BUILTIN.includes(r) ? undefined : 'no'}>
                    {BUILTIN.includes(r) ? t(`admin.roles.builtin.${r}`) : r}
                  </span>
                ))}
              </td>
              <td className="px-2 py-1">
                <UserState user={u} />
              </td>
              <td className="px-2 py-1 whitespace-nowrap">{formatDateTime(u.created_at)}</td>
              {canManage && (
                <td className="space-x-1 px-2 py-1 whitespace-nowrap text-right">
                  {!u.service_account && (
                    <>
                      <button type="button" data-testid="user-edit" className={BUTTON} onClick={() => setDialog({ kind: 'edit', user: u })}>
                        {t('admin.edit')}
                      </button>
                      <button
                        type="button"
                        data-testid="user-reset"
                        className={BUTTON}
                        onClick={() => setDialog({ kind: 'password', user: u })}
                      >
                        {t('admin.users.reset')}
                      </button>
                    </>
                  )}
                  {u.locked && (
                    <button type="button" data-testid="user-unlock" className={BUTTON} onClick={() => void act(() => unlock.mutateAsync(u.id))}>
                      {t('admin.users.unlock')}
                    </button>
                  )}
                  <button
                    type="button"
                    data-testid="user-toggle-active"
                    className={BUTTON}
                    onClick={() => void act(() => update.mutateAsync({ id: u.id, body: { active: !u.active } }))}
                  >
                    {u.active ? t('admin.users.disable') : t('admin.users.enable')}
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {dialog?.kind === 'new' && <NewUserDialog onClose={() => setDialog(null)} />}
      {dialog?.kind === 'edit' && <EditUserDialog user={dialog.user} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'password' && <ResetPasswordDialog user={dialog.user} onClose={() => setDialog(null)} />}
    </div>
  );
}
