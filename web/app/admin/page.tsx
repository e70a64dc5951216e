'use client';

import { useRouter } from 'next/navigation';
import { useEffect } from 'react';
import { AppShell } from '@/components/shell/AppShell';
import { adminSections } from '@/lib/admin/sections';
import { useSession } from '@/lib/auth/store';
import { useT } from '@/lib/i18n';

/** /admin/: the first section this user may open. */
function FirstSection() {
  const me = useSession((s) => s.me);
  const router = useRouter();
  const t = useT();
  const first = adminSections(me?.permissions ?? [])[0];
  useEffect(() => {
    if (first) router.replace(first.href);
  }, [first, router]);
  return first ? null : (
    <p className="p-8 text-red-600" data-testid="forbidden">
      {t('errors.permission_denied')}
    </p>
  );
}

export default function AdminPage() {
  return (
    <AppShell>
      <FirstSection />
    </AppShell>
  );
}
