"""Ingest is reached by every route: the STOW-RS and DICOM listener fixtures, shared here."""

from tests.dicomweb.conftest import stow, writer_headers  # noqa: F401
from tests.dimse.conftest import listener, register  # noqa: F401
