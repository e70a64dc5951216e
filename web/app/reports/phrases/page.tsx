'use client';

import { PhraseLibrary } from '@/components/reports/PhraseLibrary';
import { AppShell } from '@/components/shell/AppShell';

export default function PhrasesPage() {
  return (
    <AppShell permission="report:read">
      <PhraseLibrary />
    </AppShell>
  );
}
