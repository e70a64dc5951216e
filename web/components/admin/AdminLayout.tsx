'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import type { ReactNode } from 'react';
import { AppShell } from '@/components/shell/AppShell';
import { adminSections } from '@/lib/admin/sections';
import { useSession } from '@/lib/auth/store';
import { useT } from '@/lib/i18n';

function Tabs() {
  const me = useSession((s) => s.me);
  const t = useT();
  const pathname = usePathname();
  return (
    <nav className="flex gap-1 overflow-x-auto whitespace-nowrap border-b border-slate-200 bg-white px-4" aria-label={t('admin.title')}>
      {adminSections(me?.permissions ?? []).map((s) => (
        <Link
          key={s.id}
          href={s.href}
          data-testid={`admin-tab-${s.id}`}
          className={`border-b-2 px-3 py-2 text-sm ${
            pathname.startsWith(s.href) ? 'border-sky-700 text-sky-800' : 'border-transparent text-slate-600 hover:text-slate-900'
          }`}
        >
          {t(`admin.sections.${s.id}`)}
        </Link>
      ))}
    </nav>
  );
}

/** The console's frame: the shell (permission-checked), the section tabs, the page. */
export function AdminLayout({ permission, children }: { permission: string; children: ReactNode }) {
  return (
    <AppShell permission={permission}>
      <div className="flex h-full flex-col">
        <Tabs />
        <div className="min-h-0 flex-1 overflow-auto p-4">{children}</div>
      </div>
    </AppShell>
  );
}

export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <label className="block text-sm">
      <span className="text-slate-600">{label}</span>
      <div className="mt-1">{children}</div>
    </label>
  );
}

export const INPUT = 'w-full rounded border border-slate-300 px-2 py-1.5';
/** A filter field: INPUT without its full width (each field is given one). */
export const FIELD = 'rounded border border-slate-300 px-2 py-1.5';
export const BUTTON = 'rounded border border-slate-300 px-2 py-0.5 text-sm hover:bg-slate-100 disabled:opacity-50';
export const PRIMARY = 'rounded bg-sky-700 px-3 py-1 text-sm text-white hover:bg-sky-800 disabled:opacity-60';
