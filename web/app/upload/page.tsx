'use client';

import { AppShell } from '@/components/shell/AppShell';
import { Uploader } from '@/components/upload/Uploader';

export default function UploadPage() {
  return (
    <AppShell permission="image:create">
      <Uploader />
    </AppShell>
  );
}
