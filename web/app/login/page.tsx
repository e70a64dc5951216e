'use client';

import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useEffect, useState, type FormEvent } from 'react';
import { LocaleSwitch } from '@/components/shell/AppShell';
import { login, restoreSession } from '@/lib/api/client';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import { useSession, type Me } from '@/lib/auth/store';
import { useT } from '@/lib/i18n';

/** Only same-site paths are followed after login (no open redirect). */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/studies/';
}

/** A password an administrator set is changed first, then the user goes on. */
function afterLogin(me: Me | null, next: string): string {
  return me?.must_change_password ? `/account/?next=${encodeURIComponent(next)}` : next;
}

function LoginForm() {
  const t = useT();
  const router = useRouter();
  const params = useSearchParams();
  const next = safeNext(params.get('next'));
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    // Already logged in (refresh cookie still valid): go straight on.
    let cancelled = false;
    void restoreSession().then((ok) => {
      if (ok && !cancelled) router.replace(afterLogin(useSession.getState().me, next));
    });
    return () => {
      cancelled = true;
    };
  }, [router, next]);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await login(username.trim(), password);
      router.replace(afterLogin(me, next));
    } catch (err) {
      setError(errorMessage(t, describeError(err)));
      setBusy(false);
    }
  };

  return (
    <form onSubmit={onSubmit} className="w-80 space-y-4 rounded-lg bg-white p-8 shadow" data-testid="login-form">
      <div className="flex items-center justify-between">
        <h1 className="text-xl font-semibold">{t('login.title')}</h1>
        <LocaleSwitch />
      </div>
      <label className="block text-sm">
        {t('login.username')}
        <input
          name="username"
          autoComplete="username"
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5"
        />
      </label>
      <label className="block text-sm">
        {t('login.password')}
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5"
        />
      </label>
      {error && (
        <p role="alert" data-testid="login-error" className="text-sm text-red-600">
          {error}
        </p>
      )}
      <button
        type="submit"
        disabled={busy}
        data-testid="login-submit"
        className="w-full rounded bg-sky-700 py-2 text-white hover:bg-sky-800 disabled:opacity-60"
      >
        {busy ? t('login.signingIn') : t('login.submit')}
      </button>
    </form>
  );
}

export default function LoginPage() {
  return (
    <div className="flex min-h-screen flex-col items-center justify-center gap-6 bg-slate-800">
      <div className="text-2xl font-semibold tracking-widest text-slate-100">Hounsfield</div>
      <Suspense>
        <LoginForm />
      </Suspense>
    </div>
  );
}
