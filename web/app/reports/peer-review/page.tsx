'use client';

import { PeerReview } from '@/components/reports/PeerReview';
import { AppShell } from '@/components/shell/AppShell';

export default function PeerReviewPage() {
  return (
    <AppShell permission="report:approve">
      <PeerReview />
    </AppShell>
  );
}
