'use client';

import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { useEffect, useState, type ReactNode } from 'react';
import { logout } from '@/lib/api/client';
import { ADMIN_PERMISSIONS } from '@/lib/admin/sections';
import { hasPermission, useSession, type Me } from '@/lib/auth/store';
import { LOCALES, useLocale, useT } from '@/lib/i18n';
import { Bell } from '@/components/notifications/Bell';
import { useCriticalCounts } from '@/lib/reports/pageQueries';
import { useSessionGate } from './useSessionGate';

const NAV = [
  { href: '/studies/', key: 'nav.worklist', permission: 'order:read' },
  { href: '/patients/', key: 'nav.patients', permission: 'patient:read' },
  { href: '/orders/', key: 'nav.orders', permission: 'order:read' },
  { href: '/critical/', key: 'nav.critical', permission: 'report:read', badge: 'critical' },
  { href: '/reports/peer-review/', key: 'nav.peerReview', permission: 'report:approve' },
  { href: '/statistics/', key: 'nav.statistics', permission: 'statistics:read' },
  { href: '/upload/', key: 'nav.upload', permission: 'image:create' },
  { href: '/devices/', key: 'nav.devices', permission: 'device:read' },
  { href: '/ai/', key: 'nav.ai', permission: 'ai:manage' },
  { href: '/admin/', key: 'nav.admin', permission: ADMIN_PERMISSIONS },
];

/** The number of open critical results beside their nav link (hidden at zero). */
function CriticalBadge() {
  const t = useT();
  const open = useCriticalCounts().data?.open;
  if (!open) return null;
  return (
    <span className="ml-1 rounded-full bg-red-600 px-1.5 text-xs text-white tabular-nums" data-testid="nav-critical-count" title={t('critical.summary.open')}>
      {open}
    </span>
  );
}

const allowed = (me: Me, permission: string | string[]) =>
  [permission].flat().some((p) => hasPermission(me, p));

export function LocaleSwitch({ className = '' }: { className?: string }) {
  const { locale, setLocale } = useLocale();
  const t = useT();
  return (
    <select
      aria-label={t('common.language')}
      data-testid="locale-switch"
      className={`rounded border border-current/30 bg-transparent px-1 py-0.5 text-sm ${className}`}
      value={locale}
      onChange={(e) => setLocale(e.target.value as (typeof LOCALES)[number])}
    >
      <option value="zh-CN">中文</option>
      <option value="en">English</option>
    </select>
  );
}

function MenuButton({ open, onToggle }: { open: boolean; onToggle: () => void }) {
  const t = useT();
  return (
    <button
      type="button"
      data-testid="menu-toggle"
      aria-expanded={open}
      aria-label={t('nav.menu')}
      onClick={onToggle}
      className="rounded px-2 py-1 text-lg leading-none hover:bg-white/10 md:hidden"
    >
      {open ? '✕' : '☰'}
    </button>
  );
}

/** Header with the navigation the user's permissions allow, and the page below it. */
export function AppShell({
  children,
  permission,
  dark = false,
}: {
  children: ReactNode;
  permission?: string;
  dark?: boolean;
}) {
  const status = useSessionGate();
  const me = useSession((s) => s.me);
  const t = useT();
  const pathname = usePathname();
  const router = useRouter();

  const [menuOpen, setMenuOpen] = useState(false);
  // A page change closes the phone menu.
  useEffect(() => setMenuOpen(false), [pathname]);

  const mustChange = status === 'authenticated' && !!me?.must_change_password;
  useEffect(() => {
    // The server refuses everything but the change (issue 13): go there first.
    if (mustChange) router.replace(`/account/?next=${encodeURIComponent(pathname + window.location.search)}`);
  }, [mustChange, pathname, router]);
  if (status !== 'authenticated' || !me || me.must_change_password) {
    return (
      <div className="flex h-screen items-center justify-center text-slate-500" data-testid="loading">
        {t('common.loading')}
      </div>
    );
  }

  const onLogout = async () => {
    await logout();
    router.replace('/login/');
  };

  const links = NAV.filter((n) => allowed(me, n.permission));
  const linkClass = (href: string) =>
    `rounded px-3 py-1 text-sm ${pathname.startsWith(href) ? 'bg-white/15' : 'hover:bg-white/10'}`;
  const userLink = (testId: string) => (
    <Link href="/account/" data-testid={testId} className="hover:underline" title={t('nav.account')} translate="no">
      {me.display_name || me.username}
    </Link>
  );
  const logoutButton = (testId: string) => (
    <button type="button" data-testid={testId} onClick={onLogout} className="rounded px-2 py-1 text-left hover:bg-white/10">
      {t('nav.logout')}
    </button>
  );

  return (
    <div className={`flex h-dvh flex-col print:block print:h-auto ${dark ? 'reading' : ''}`}>
      <header
        className={`relative flex h-11 shrink-0 items-center gap-4 px-4 print:hidden ${
          dark ? 'border-b border-neutral-800 bg-neutral-900' : 'bg-slate-800 text-slate-100'
        }`}
      >
        <span className="font-semibold tracking-wide">Hounsfield</span>
        <nav className="hidden gap-1 md:flex" aria-label={t('nav.label')}>
          {links.map((n) => (
            <Link key={n.href} href={n.href} data-testid={`nav-${n.href.replaceAll('/', '')}`} className={linkClass(n.href)}>
              {t(n.key)}
              {'badge' in n && <CriticalBadge />}
            </Link>
          ))}
        </nav>
        <div className="ml-auto flex items-center gap-3 text-sm">
          {me.demo && (
            <span className="rounded bg-amber-500 px-2 py-0.5 text-xs text-black">{t('common.demo')}</span>
          )}
          <Bell />
          <div className="hidden items-center gap-3 md:flex">
            {userLink('current-user')}
            <LocaleSwitch />
            {logoutButton('logout')}
          </div>
          <MenuButton open={menuOpen} onToggle={() => setMenuOpen((o) => !o)} />
        </div>
        {menuOpen && (
          // Phones: the navigation and the account items in one menu under the header.
          <div
            className={`absolute inset-x-0 top-11 z-50 flex flex-col gap-1 p-2 shadow-lg md:hidden ${
              dark ? 'bg-neutral-900' : 'bg-slate-800 text-slate-100'
            }`}
            data-testid="nav-menu"
          >
            <nav className="flex flex-col gap-1" aria-label={t('nav.label')}>
              {links.map((n) => (
                <Link key={n.href} href={n.href} data-testid={`menu-nav-${n.href.replaceAll('/', '')}`} className={`${linkClass(n.href)} py-2`}>
                  {t(n.key)}
                  {'badge' in n && <CriticalBadge />}
                </Link>
              ))}
            </nav>
            <div className="flex items-center gap-3 border-t border-white/10 px-3 pt-2 text-sm">
              {userLink('menu-current-user')}
              <LocaleSwitch />
              <span className="ml-auto">{logoutButton('menu-logout')}</span>
            </div>
          </div>
        )}
      </header>
      <main className="min-h-0 flex-1 print:overflow-visible">
        {permission && !hasPermission(me, permission) ? (
          <p className="p-8 text-red-600" data-testid="forbidden">
            {t('errors.permission_denied')}
          </p>
        ) : (
          children
        )}
      </main>
    </div>
  );
}
