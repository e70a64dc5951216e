'use client';

import { useEffect } from 'react';
import { useT } from '@/lib/i18n';
import { loadStoredNameOrder, useNameOrder, type NameOrder } from '@/lib/patients/names';

/** The user's choice of how Chinese names read: "张伟 (Zhang Wei)" or "Zhang Wei (张伟)". */
export function NameOrderSwitch() {
  const t = useT();
  const { order, setOrder } = useNameOrder();
  useEffect(() => loadStoredNameOrder(), []);
  return (
    <label className="text-xs text-slate-600">
      {t('patients.nameOrder.label')}
      <select
        data-testid="name-order"
        value={order}
        onChange={(e) => setOrder(e.target.value as NameOrder)}
        className="mt-0.5 block rounded border border-slate-300 px-2 py-1 text-sm text-slate-900"
      >
        <option value="ideographic">{t('patients.nameOrder.ideographic')}</option>
        <option value="alphabetic">{t('patients.nameOrder.alphabetic')}</option>
      </select>
    </label>
  );
}

/** displayName with the user's current choice. */
export function usePersonName() {
  return useNameOrder((s) => s.order);
}
