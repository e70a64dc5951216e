'use client';

import { AdminLayout } from '@/components/admin/AdminLayout';
import { ApiKeys } from '@/components/admin/ApiKeys';

export default function Page() {
  return (
    <AdminLayout permission="user:read">
      <ApiKeys />
    </AdminLayout>
  );
}
