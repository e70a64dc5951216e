'use client';

import { AdminLayout } from '@/components/admin/AdminLayout';
import { AuditLog } from '@/components/admin/AuditLog';

export default function Page() {
  return (
    <AdminLayout permission="audit:read">
      <AuditLog />
    </AdminLayout>
  );
}
