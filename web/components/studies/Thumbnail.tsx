'use client';

import { useEffect, useRef, useState } from 'react';
import { api } from '@/lib/api/client';

/**
 * An image the API serves behind the bearer token: fetched as a blob and shown through an
 * object URL (an <img src> cannot send the Authorization header). Loaded when scrolled into view.
 */
export function AuthImage({
  url,
  alt,
  className = '',
}: {
  url: string | null;
  alt: string;
  className?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [visible, setVisible] = useState(false);
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (typeof IntersectionObserver === 'undefined') {
      setVisible(true);
      return;
    }
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        setVisible(true);
        io.disconnect();
      }
    });
    io.observe(el);
    return () => io.disconnect();
  }, []);

  useEffect(() => {
    if (!visible || !url) return;
    let objectUrl: string | null = null;
    let cancelled = false;
    api
      .get<Blob>(url, { responseType: 'blob', headers: { Accept: 'image/jpeg' } })
      .then(({ data }) => {
        if (cancelled) return;
        objectUrl = URL.createObjectURL(data);
        setSrc(objectUrl);
      })
      .catch(() => !cancelled && setFailed(true));
    return () => {
      cancelled = true;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [visible, url]);

  return (
    <div ref={ref} className={`flex items-center justify-center overflow-hidden bg-black ${className}`}>
      {src ? (
        // eslint-disable-next-line @next/next/no-img-element -- object URL of an authenticated blob
        <img src={src} alt={alt} className="h-full w-full object-contain" draggable={false} />
      ) : (
        <span className="text-[10px] text-neutral-500">{failed ? '—' : '…'}</span>
      )}
    </div>
  );
}

export function seriesThumbnailUrl(studyUid: string, seriesUid: string): string {
  return `/dicom-web/studies/${encodeURIComponent(studyUid)}/series/${encodeURIComponent(seriesUid)}/thumbnail`;
}
