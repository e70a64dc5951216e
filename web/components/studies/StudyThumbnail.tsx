'use client';

import { useStudy } from '@/lib/queries/studies';
import { AuthImage, seriesThumbnailUrl } from './Thumbnail';

/** The first series' thumbnail of a study (the study detail is cached for the viewer too). */
export function StudyThumbnail({ studyUid }: { studyUid: string }) {
  const { data } = useStudy(studyUid);
  const first = data?.series?.[0];
  return (
    <AuthImage
      url={first ? seriesThumbnailUrl(studyUid, first.series_instance_uid) : null}
      alt=""
      className="h-12 w-12 rounded"
    />
  );
}
