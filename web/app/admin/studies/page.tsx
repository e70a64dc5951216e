'use client';

import { AdminLayout } from '@/components/admin/AdminLayout';
import { StudyAdmin } from '@/components/admin/StudyAdmin';

// Searching needs image:read; the delete and export buttons show for image:delete / image:export.
export default function Page() {
  return (
    <AdminLayout permission="image:read">
      <StudyAdmin />
    </AdminLayout>
  );
}
