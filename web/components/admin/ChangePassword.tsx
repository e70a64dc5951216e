'use client';

import { useRouter, useSearchParams } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { LocaleSwitch } from '@/components/shell/AppShell';
import { useSessionGate } from '@/components/shell/useSessionGate';
import { adminErrorMessage, passwordProblems } from '@/lib/admin/messages';
import { changeOwnPassword } from '@/lib/admin/queries';
import { login } from '@/lib/api/client';
import { describeError } from '@/lib/api/errors';
import { useSession } from '@/lib/auth/store';
import { useT } from '@/lib/i18n';
import { INPUT, PRIMARY } from './AdminLayout';

/** Only same-site paths are followed afterwards (no open redirect). */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/studies/';
}

/**
 * The user's own account: who they are and a password change. A password an administrator
 * set must be changed here first (the server refuses everything else until then); the change
 * ends every session, so the page signs in again with the new password and goes on.
 */
export function ChangePassword() {
  const t = useT();
  const status = useSessionGate();
  const me = useSession((s) => s.me);
  const router = useRouter();
  const next = safeNext(useSearchParams().get('next'));
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (status !== 'authenticated' || !me) {
    return <div className="p-8 text-slate-500">{t('common.loading')}</div>;
  }
  const forced = me.must_change_password;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (password !== repeat) {
      setError(t('admin.password.mismatch'));
      return;
    }
    setBusy(true);
    try {
      await changeOwnPassword(current, password);
      await login(me.username, password);
      router.replace(next);
    } catch (err) {
      setError(adminErrorMessage(t, describeError(err), passwordProblems(err)));
      setBusy(false);
    }
  };

  return (
    <div className="flex min-h-screen flex-col items-center justify-center gap-6 bg-slate-100 p-4">
      <form onSubmit={submit} className="w-96 space-y-4 rounded-lg bg-white p-8 shadow" data-testid="password-form">
        <div className="flex items-center justify-between">
          <h1 className="text-xl font-semibold">{t('admin.password.title')}</h1>
          <LocaleSwitch />
        </div>
        <p className="text-sm text-slate-600" data-testid="account-user" translate="no">
          {me.display_name || me.username}
          {me.display_name && <span className="ml-2 text-slate-400">{me.username}</span>}
        </p>
        {forced && (
          <p className="rounded bg-amber-100 p-2 text-sm text-amber-900" data-testid="password-forced">
            {t('admin.password.forced')}
          </p>
        )}
        {[
          ['current_password', 'current', current, setCurrent, 'current-password'],
          ['new_password', 'new', password, setPassword, 'new-password'],
          ['repeat_password', 'repeat', repeat, setRepeat, 'new-password'],
        ].map(([name, label, value, setter, auto]) => (
          <label key={name as string} className="block text-sm">
            {t(`admin.password.${label as string}`)}
            <input
              name={name as string}
              type="password"
              required
              autoComplete={auto as string}
              value={value as string}
              onChange={(e) => (setter as (v: string) => void)(e.target.value)}
              className={`mt-1 ${INPUT}`}
            />
          </label>
        ))}
        <p className="text-xs text-slate-500">{t('admin.password.policy')}</p>
        {error && (
          <p role="alert" data-testid="password-error" className="text-sm text-red-600">
            {error}
          </p>
        )}
        <div className="flex items-center justify-between">
          {!forced ? (
            <button type="button" className="text-sm text-sky-700 hover:underline" onClick={() => router.back()}>
              {t('admin.back')}
            </button>
          ) : (
            <span />
          )}
          <button type="submit" disabled={busy} data-testid="password-submit" className={PRIMARY}>
            {t('admin.password.submit')}
          </button>
        </div>
      </form>
    </div>
  );
}
