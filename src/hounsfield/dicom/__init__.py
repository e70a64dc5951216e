"""Pure DICOM helpers (no database): UIDs, character sets, header parsing and validation."""
