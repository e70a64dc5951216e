'use client';

import { useT } from '@/lib/i18n';
import { SHORTCUTS } from './shortcuts';

export function HelpDialog({ onClose }: { onClose: () => void }) {
  const t = useT();
  return (
    <div
      className="fixed inset-0 z-50 flex items-center justify-center bg-black/60"
      onClick={onClose}
      role="dialog"
      aria-modal="true"
      aria-label={t('viewer.help.title')}
      data-testid="help-dialog"
    >
      <div className="max-h-[90vh] w-[32rem] overflow-auto rounded bg-neutral-900 p-5 text-sm text-neutral-200" onClick={(e) => e.stopPropagation()}>
        <div className="mb-3 flex items-center justify-between">
          <h2 className="text-base font-semibold">{t('viewer.help.title')}</h2>
          <button type="button" onClick={onClose} className="rounded px-2 hover:bg-neutral-800">
            ✕
          </button>
        </div>
        <table className="w-full">
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={s.keys} className="border-t border-neutral-800">
                <td className="py-1 pr-4 font-mono whitespace-nowrap text-sky-300">{s.keys}</td>
                <td className="py-1">{t(s.label)}</td>
              </tr>
            ))}
            <tr className="border-t border-neutral-800">
              <td className="py-1 pr-4 font-mono text-sky-300">{t('viewer.help.mouse')}</td>
              <td className="py-1">{t('viewer.help.mouseText')}</td>
            </tr>
          </tbody>
        </table>
      </div>
    </div>
  );
}
