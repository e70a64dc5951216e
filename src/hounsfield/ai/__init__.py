"""AI-assisted diagnosis: a model registry, inference on the `ai` queue, findings that a
doctor reviews (AI suggests; the doctor decides), DICOM SR/SEG exports and monitoring."""
