'use client';

import { AuthImage } from './Thumbnail';

/** The study's thumbnail (WADO-RS `/studies/{uid}/thumbnail`), fetched with the token. */
export function StudyThumbnail({ studyUid }: { studyUid: string }) {
  return (
    <AuthImage
      url={`/dicom-web/studies/${encodeURIComponent(studyUid)}/thumbnail`}
      alt=""
      className="h-12 w-12 rounded"
    />
  );
}
