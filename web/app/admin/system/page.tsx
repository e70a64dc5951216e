'use client';

import { AdminLayout } from '@/components/admin/AdminLayout';
import { SystemStatusPage } from '@/components/admin/SystemStatus';

export default function Page() {
  return (
    <AdminLayout permission="system:admin">
      <SystemStatusPage />
    </AdminLayout>
  );
}
