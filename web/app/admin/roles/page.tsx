'use client';

import { AdminLayout } from '@/components/admin/AdminLayout';
import { RoleList } from '@/components/admin/RoleList';

export default function Page() {
  return (
    <AdminLayout permission="user:read">
      <RoleList />
    </AdminLayout>
  );
}
