"""Object storage for DICOM files behind one small protocol: local directory or S3."""

from hounsfield.storage.backend import StorageBackend, StorageUnavailable, get_storage

__all__ = ["StorageBackend", "StorageUnavailable", "get_storage"]
