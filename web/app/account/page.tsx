'use client';

import { Suspense } from 'react';
import { ChangePassword } from '@/components/admin/ChangePassword';

export default function AccountPage() {
  return (
    <Suspense>
      <ChangePassword />
    </Suspense>
  );
}
