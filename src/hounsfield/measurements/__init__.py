"""Saved measurements: a study's viewer annotations kept as one DICOM SR (TID 1500)."""
