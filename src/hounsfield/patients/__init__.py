"""Patient records, visits, search, reconciliation with DICOM, and merges."""
