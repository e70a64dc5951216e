'use client';

import { AppShell } from '@/components/shell/AppShell';
import { StudyList } from '@/components/studies/StudyList';

export default function StudiesPage() {
  return (
    <AppShell permission="image:read">
      <StudyList />
    </AppShell>
  );
}
