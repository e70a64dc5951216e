"""Fault tests reuse the DICOMweb fixtures (a technician's STOW-RS)."""

from tests.dicomweb.conftest import stow, writer_headers

__all__ = ["stow", "writer_headers"]
