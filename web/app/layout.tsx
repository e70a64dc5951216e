import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { ServiceWorker } from '@/components/pwa/ServiceWorker';
import { Providers } from '@/components/shell/Providers';
import './globals.css';

export const metadata: Metadata = {
  title: 'Hounsfield',
  description: 'Hounsfield PACS workstation',
  // Installable on a phone (public/manifest.webmanifest, public/sw.js).
  manifest: '/manifest.webmanifest',
  appleWebApp: { capable: true, title: 'Hounsfield', statusBarStyle: 'black-translucent' },
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1, themeColor: '#0c4a6e' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="zh-CN">
      <body>
        <Providers>{children}</Providers>
        <ServiceWorker />
      </body>
    </html>
  );
}
