"""The base of the URLs we hand out (RetrieveURL, BulkDataURI, STOW-RS answers).

A client-supplied Host header must not become a link another user follows (PS3.18 URLs in
responses are fetched with the user's token): `public_base_url` when set, else the request's
own base if its host is one of `allowed_hosts`, else a 400.
"""

from __future__ import annotations

from fastapi import Request

from hounsfield.config import get_settings
from hounsfield.errors import BadRequest

__all__ = ["HostNotAllowed", "dicomweb_base", "public_base"]


class HostNotAllowed(BadRequest):
    """The request's Host header is not one this server answers to."""

    code = "host_not_allowed"


def public_base(request: Request) -> str:
    """The server's base URL, without a trailing slash."""
    settings = get_settings()
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    allowed = {h.lower().strip("[]") for h in settings.allowed_hosts}
    host = (request.url.hostname or "").lower()
    if "*" not in allowed and host not in allowed:
        raise HostNotAllowed("The Host header names a host this server does not answer to.")
    return str(request.base_url).rstrip("/")


def dicomweb_base(request: Request) -> str:
    """The DICOMweb root (`…/dicom-web`) for URLs in responses."""
    return public_base(request) + "/dicom-web"
