'use client';

import { OrderList } from '@/components/orders/OrderList';
import { AppShell } from '@/components/shell/AppShell';

export default function OrdersPage() {
  return (
    <AppShell permission="order:read">
      <OrderList />
    </AppShell>
  );
}
