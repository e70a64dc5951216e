"""Diagnostic reports: templates, drafts and versions, review and signature, FHIR export."""
