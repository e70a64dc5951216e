"""The DICOM index (patient ↔ study ↔ series ↔ instance), its queries and the Studies API."""
