'use client';

import type { ReactNode } from 'react';
import { StudyThumbnail } from '@/components/studies/StudyThumbnail';
import { displayDate } from '@/lib/dates';
import { useT } from '@/lib/i18n';
import type { WorklistItem } from '@/lib/orders/types';
import { ageLabel, displayName, sexLabel, type NameOrder } from '@/lib/patients/names';
import { ClaimCell } from './ClaimCell';

/**
 * One study of the worklist on a phone (the table is wider than the screen): a tap opens it
 * in the viewer; the claim and the lock are the table's.
 */
export function StudyCard({
  item,
  meId,
  order,
  priorityStyle,
  statusStyle,
  onOpen,
  claimButton,
}: {
  item: WorklistItem;
  meId: string;
  order: NameOrder;
  priorityStyle: string;
  statusStyle: string;
  onOpen: () => void;
  claimButton: ReactNode;
}) {
  const t = useT();
  return (
    <li
      data-testid="study-card"
      data-study-uid={item.study_instance_uid}
      data-status={item.read_status}
      className="flex gap-3 border-t border-slate-100 p-2 first:border-t-0"
    >
      <button type="button" onClick={onOpen} data-testid="study-card-open" className="flex min-w-0 flex-1 gap-3 text-left">
        <StudyThumbnail studyUid={item.study_instance_uid} />
        <span className="min-w-0 flex-1 text-sm">
          <span className="flex flex-wrap items-center gap-1.5">
            <span className="font-medium">{displayName(order, { pn: item.patient_name })}</span>
            <span className="text-slate-500">{[sexLabel(t, item.sex), ageLabel(t, item.age)].filter(Boolean).join(' / ')}</span>
            <span className={`rounded px-1.5 py-0.5 text-xs ${priorityStyle}`}>{t(`orders.priority.${item.priority}`)}</span>
            <span className={`rounded px-1.5 py-0.5 text-xs whitespace-nowrap ${statusStyle}`}>{t(`worklist.status.${item.read_status}`)}</span>
          </span>
          <span className="block truncate text-slate-600">
            {item.modalities.join(', ')} · {displayDate(item.study_date)} · {item.patient_id}
          </span>
          <span className="block truncate text-slate-500">{item.description}</span>
        </span>
      </button>
      <span className="flex shrink-0 flex-col items-end justify-between gap-1">
        <ClaimCell item={item} meId={meId} />
        {claimButton}
      </span>
    </li>
  );
}
