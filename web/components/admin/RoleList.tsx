'use client';

import { useMemo, useState, type FormEvent } from 'react';
import { Modal } from '@/components/devices/DeviceDialog';
import { adminErrorMessage } from '@/lib/admin/messages';
import { groupPermissions, groupState, permissionKey, toggleGroup } from '@/lib/admin/permissions';
import { useDeleteRole, usePermissionCatalogue, useRoles, useSaveRole } from '@/lib/admin/queries';
import type { RoleCreate, RoleRead } from '@/lib/admin/types';
import { describeError } from '@/lib/api/errors';
import { hasPermission, useSession } from '@/lib/auth/store';
import { useT } from '@/lib/i18n';
import { BUTTON, Field, INPUT, PRIMARY } from './AdminLayout';

type Permission = RoleCreate['permissions'][number];

/** Permissions grouped by resource; a group's box ticks all of it. Read-only for built-in roles. */
export function PermissionPicker({
  chosen,
  onChange,
  readOnly = false,
}: {
  chosen: ReadonlySet<string>;
  onChange?: (next: Set<string>) => void;
  readOnly?: boolean;
}) {
  const t = useT();
  const { data: catalogue } = usePermissionCatalogue();
  const groups = useMemo(() => groupPermissions((catalogue ?? []).map((p) => p.name)), [catalogue]);
  return (
    <div className="grid grid-cols-2 gap-3" data-testid="permission-picker">
      {groups.map((g) => {
        const state = groupState(g, chosen);
        return (
          <fieldset key={g.resource} className="rounded border border-slate-200 p-2" data-testid="permission-group" data-resource={g.resource}>
            <legend className="px-1">
              <label className="flex items-center gap-1 font-medium">
                <input
                  type="checkbox"
                  disabled={readOnly}
                  checked={state === 'all'}
                  ref={(el) => {
                    if (el) el.indeterminate = state === 'some';
                  }}
                  onChange={() => onChange?.(toggleGroup(g, chosen))}
                />
                {t(`admin.resource.${g.resource}`)}
              </label>
            </legend>
            {g.permissions.map((p) => (
              <label key={p} className="flex items-start gap-1 py-0.5" title={p}>
                <input
                  type="checkbox"
                  name={p}
                  disabled={readOnly}
                  checked={chosen.has(p)}
                  onChange={(e) => {
                    const next = new Set(chosen);
                    if (e.target.checked) next.add(p);
                    else next.delete(p);
                    onChange?.(next);
                  }}
                />
                <span>{t(permissionKey(p))}</span>
              </label>
            ))}
          </fieldset>
        );
      })}
    </div>
  );
}

function RoleDialog({ role, onClose }: { role: RoleRead | null; onClose: () => void }) {
  const t = useT();
  const save = useSaveRole();
  const me = useSession((s) => s.me);
  const readOnly = !!role?.builtin || !hasPermission(me, 'user:manage');
  const [name, setName] = useState(role?.name ?? '');
  const [description, setDescription] = useState(role?.description ?? '');
  const [chosen, setChosen] = useState<Set<string>>(new Set(role?.permissions ?? []));
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const permissions = [...chosen].sort() as Permission[];
    try {
      await save.mutateAsync(
        role ? { id: role.id, body: { description, permissions } } : { id: null, body: { name: name.trim(), description, permissions } },
      );
      onClose();
    } catch (err) {
      setError(adminErrorMessage(t, describeError(err)));
    }
  };

  const title = role ? (role.builtin ? t(`admin.roles.builtin.${role.name}`) : role.name) : t('admin.roles.new');
  return (
    <Modal label={title} testId="role-dialog" onClose={onClose}>
      <form onSubmit={submit} className="space-y-3">
        {role?.builtin && (
          <p className="rounded bg-slate-100 p-2 text-slate-600" data-testid="role-readonly">
            {t('admin.roles.readOnly')}
          </p>
        )}
        {!role && (
          <Field label={t('admin.roles.name')}>
            <input name="name" required pattern="[a-z0-9_-]{2,64}" value={name} onChange={(e) => setName(e.target.value)} className={INPUT} />
          </Field>
        )}
        {!readOnly && (
          <Field label={t('admin.roles.description')}>
            <input name="description" value={description} onChange={(e) => setDescription(e.target.value)} className={INPUT} />
          </Field>
        )}
        <PermissionPicker chosen={chosen} onChange={setChosen} readOnly={readOnly} />
        {error && (
          <p role="alert" data-testid="role-error" className="text-red-600">
            {error}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <button type="button" onClick={onClose} className={BUTTON} data-testid="role-close">
            {readOnly ? t('admin.close') : t('admin.cancel')}
          </button>
          {!readOnly && (
            <button type="submit" data-testid="role-save" disabled={save.isPending} className={PRIMARY}>
              {t('admin.save')}
            </button>
          )}
        </div>
      </form>
    </Modal>
  );
}

/** Roles: built-in ones shown read-only; custom ones created, edited and deleted (user:manage). */
export function RoleList() {
  const t = useT();
  const me = useSession((s) => s.me);
  const canManage = hasPermission(me, 'user:manage');
  const { data: roles, error } = useRoles();
  const remove = useDeleteRole();
  const [open, setOpen] = useState<RoleRead | 'new' | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);

  const onDelete = async (role: RoleRead) => {
    setActionError(null);
    if (!window.confirm(t('admin.roles.confirmDelete', { name: role.name }))) return;
    try {
      await remove.mutateAsync(role.id);
    } catch (err) {
      setActionError(adminErrorMessage(t, describeError(err)));
    }
  };

  return (
    <div className="flex flex-col gap-3">
      <div className="flex items-center gap-3">
        <h1 className="text-lg font-semibold">{t('admin.sections.roles')}</h1>
        {canManage && (
          <button type="button" data-testid="role-add" onClick={() => setOpen('new')} className={`ml-auto ${PRIMARY}`}>
            {t('admin.roles.new')}
          </button>
        )}
      </div>
      {(error || actionError) && (
        <p role="alert" className="text-sm text-red-600">
          {actionError ?? adminErrorMessage(t, describeError(error))}
        </p>
      )}
      <table className="w-full rounded bg-white text-sm shadow-sm" data-testid="role-table">
        <thead className="bg-slate-50 text-slate-600">
          <tr>
            <th className="px-2 py-2 text-left font-medium">{t('admin.roles.name')}</th>
            <th className="px-2 py-2 text-left font-medium">{t('admin.roles.description')}</th>
            <th className="px-2 py-2 text-left font-medium">{t('admin.roles.permissionCount')}</th>
            <th className="px-2 py-2" />
          </tr>
        </thead>
        <tbody>
          {roles?.map((r) => (
            <tr key={r.id} data-testid="role-row" data-role={r.name} data-builtin={r.builtin ? '1' : '0'} className="border-t border-slate-100">
              <td className="px-2 py-1">
                {r.builtin ? (
                  t(`admin.roles.builtin.${r.name}`)
                ) : (
                  <span className="font-mono" translate="no">
                    {r.name}
                  </span>
                )}
                {r.builtin && <span className="ml-2 rounded bg-slate-100 px-1.5 text-xs text-slate-600">{t('admin.roles.builtinTag')}</span>}
              </td>
              <td className="px-2 py-1" translate={r.builtin ? undefined : 'no'}>
                {r.builtin ? t(`admin.roles.builtinDescription.${r.name}`) : r.description}
              </td>
              <td className="px-2 py-1">{r.permissions.length}</td>
              <td className="space-x-1 px-2 py-1 text-right whitespace-nowrap">
                <button type="button" data-testid="role-open" className={BUTTON} onClick={() => setOpen(r)}>
                  {r.builtin || !canManage ? t('admin.view') : t('admin.edit')}
                </button>
                {canManage && !r.builtin && (
                  <button type="button" data-testid="role-delete" className={BUTTON} onClick={() => void onDelete(r)}>
                    {t('admin.delete')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && <RoleDialog role={open === 'new' ? null : open} onClose={() => setOpen(null)} />}
    </div>
  );
}
