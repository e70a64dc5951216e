"""Pieces shared by our SCP and SCU: transfer syntaxes, TLS contexts, socket options."""

from __future__ import annotations

import socket
import ssl
from typing import Any

from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom import AE, AllStoragePresentationContexts, evt

from hounsfield.config import DicomSettings, Settings

# The transfer syntaxes we accept (SCP) and offer (SCU), preferred first.
TRANSFER_SYNTAXES: list[UID] = [
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
]
UNCOMPRESSED: list[UID] = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
STORAGE_CLASSES: list[UID] = [UID(str(cx.abstract_syntax)) for cx in AllStoragePresentationContexts]
STORAGE_CLASS_SET = frozenset(STORAGE_CLASSES)

# SOP classes (PS3.4), named as pynetdicom.sop_class names them.
Verification = UID("1.2.840.10008.1.1")
StorageCommitmentPushModel = UID("1.2.840.10008.1.20.1")
StorageCommitmentPushModelInstance = UID("1.2.840.10008.1.20.1.1")
ModalityWorklistInformationFind = UID("1.2.840.10008.5.1.4.31")
PatientRootQueryRetrieveInformationModelFind = UID("1.2.840.10008.5.1.4.1.2.1.1")
PatientRootQueryRetrieveInformationModelMove = UID("1.2.840.10008.5.1.4.1.2.1.2")
PatientRootQueryRetrieveInformationModelGet = UID("1.2.840.10008.5.1.4.1.2.1.3")
StudyRootQueryRetrieveInformationModelFind = UID("1.2.840.10008.5.1.4.1.2.2.1")
StudyRootQueryRetrieveInformationModelMove = UID("1.2.840.10008.5.1.4.1.2.2.2")
StudyRootQueryRetrieveInformationModelGet = UID("1.2.840.10008.5.1.4.1.2.2.3")

# PS3.7 Annex C general statuses, and PS3.4 service statuses we answer with.
SUCCESS = 0x0000
WARNING_COERCION = 0xB000
REFUSED_NOT_AUTHORIZED = 0x0124
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000
DUPLICATE_SOP_INSTANCE = 0x0111
DATASET_MISMATCH = 0xA900
UNABLE_TO_PROCESS = 0xC001
MOVE_DESTINATION_UNKNOWN = 0xA801


def _nodelay(event: evt.Event) -> None:
    """Turn Nagle off on every association socket (BENCHMARKING.md: ~40 ms per exchange)."""
    sock = getattr(event.assoc.dul.socket, "socket", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


NODELAY_HANDLER: tuple[Any, Any] = (evt.EVT_CONN_OPEN, _nodelay)


def allow_unknown_store(settings: Settings) -> bool:
    """Unregistered AEs may store only in embedded mode, and only if not switched off."""
    if settings.mode == "production":
        return False
    value = settings.dicom.allow_unknown_store
    return True if value is None else value


# TLS 1.2 suites of RFC 9325 (BCP 195): ECDHE key exchange, AEAD ciphers only; OpenSSL's
# default also offers CBC suites (an sslyze scan found TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384).
# TLS 1.3 suites are all AEAD and are not affected by this list.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def server_ssl_context(dicom: DicomSettings) -> ssl.SSLContext | None:
    """TLS for the listener (PS3.15 B.9 BCP195 non-downgrading: TLS 1.2 or later)."""
    if dicom.tls_cert is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.load_cert_chain(str(dicom.tls_cert), str(dicom.tls_key) if dicom.tls_key else None)
    if dicom.tls_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(str(dicom.tls_ca))
    return context


def client_ssl_context(dicom: DicomSettings) -> ssl.SSLContext:
    """TLS to a remote node: verify its certificate, present ours when we have one."""
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=str(dicom.tls_ca) if dicom.tls_ca else None
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    if dicom.tls_cert is not None:
        context.load_cert_chain(str(dicom.tls_cert), str(dicom.tls_key) if dicom.tls_key else None)
    return context


def make_ae(dicom: DicomSettings) -> AE:
    """A pynetdicom AE with our title and timeouts."""
    ae = AE(ae_title=dicom.ae_title)
    ae.network_timeout = dicom.network_timeout_s
    ae.acse_timeout = 30
    ae.dimse_timeout = 60
    ae.connection_timeout = 10
    ae.maximum_pdu_size = dicom.max_pdu
    return ae
