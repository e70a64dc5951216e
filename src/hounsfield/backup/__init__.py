"""Backup and restore of a whole instance: database dump, objects, keys (docs/operations.md)."""
