"""Ed25519 signatures over a canonical form of a report's content.

The canonical form is JSON with sorted keys, no insignificant white space and UTF-8 text,
so the same content always gives the same bytes. It covers the clinical content and who
signed it, when and with which key: changing any of them in the database breaks the
signature. Public keys are kept in `report_signing_keys` so that a rotated key's old
signatures still verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.orm import Session

from hounsfield.auth.keys import report_signing_seed
from hounsfield.config import get_settings
from hounsfield.reports.models import SigningKey


@dataclass(frozen=True)
class Signer:
    key_id: str
    private: Ed25519PrivateKey
    public_b64: str


def canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def current_signer() -> Signer:
    """The configured (or generated) signing key; its id is derived from its public key."""
    seed = hashlib.sha256(report_signing_seed(get_settings()).encode()).digest()
    private = Ed25519PrivateKey.from_private_bytes(seed)
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Signer(hashlib.sha256(raw).hexdigest()[:16], private, base64.b64encode(raw).decode())


def sign(session: Session, content: dict[str, Any]) -> tuple[str, str]:
    """(signature, key id) of `content`; records the public key the first time it signs."""
    signer = current_signer()
    if session.get(SigningKey, signer.key_id) is None:
        session.add(SigningKey(key_id=signer.key_id, public_key=signer.public_b64))
        session.flush()
    signature = signer.private.sign(canonical(content))
    return base64.b64encode(signature).decode(), signer.key_id


def verify(session: Session, content: dict[str, Any], signature: str, key_id: str) -> bool:
    key = session.get(SigningKey, key_id)
    if key is None:
        return False
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key))
    try:
        public.verify(base64.b64decode(signature), canonical(content))
    except (InvalidSignature, ValueError):
        return False
    return True
