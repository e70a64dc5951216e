'use client';

import { AdminLayout } from '@/components/admin/AdminLayout';
import { UserList } from '@/components/admin/UserList';

export default function Page() {
  return (
    <AdminLayout permission="user:read">
      <UserList />
    </AdminLayout>
  );
}
