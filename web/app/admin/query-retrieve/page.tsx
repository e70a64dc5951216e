'use client';

import { AdminLayout } from '@/components/admin/AdminLayout';
import { QueryRetrieve } from '@/components/admin/QueryRetrieve';

// The remotes come from the device registry (device:read); retrieving needs image:create.
export default function Page() {
  return (
    <AdminLayout permission="device:read">
      <QueryRetrieve />
    </AdminLayout>
  );
}
