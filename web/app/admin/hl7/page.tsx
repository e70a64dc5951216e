'use client';

import { AdminLayout } from '@/components/admin/AdminLayout';
import { Hl7Messages } from '@/components/admin/Hl7Messages';

export default function Page() {
  return (
    <AdminLayout permission="hl7:read">
      <Hl7Messages />
    </AdminLayout>
  );
}
