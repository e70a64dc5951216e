'use client';

import { DeviceList } from '@/components/devices/DeviceList';
import { AppShell } from '@/components/shell/AppShell';

export default function DevicesPage() {
  return (
    <AppShell permission="device:read">
      <DeviceList />
    </AppShell>
  );
}
