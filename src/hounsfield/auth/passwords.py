"""argon2id password hashing and the password policy."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id floor is m=19 MiB, t=2; we use m=19 MiB, t=3.
_hasher = PasswordHasher(time_cost=3, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
_DUMMY_HASH = _hasher.hash("a password nobody has")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the time of a real verification, so unknown usernames cannot be timed out."""
    verify_password(_DUMMY_HASH, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of public breaches (zxcvbn's list, offline)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # imported once, when first needed

    return frozenset(p.casefold() for p in FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    return password.casefold() in _common_passwords()


def policy_problems(password: str, username: str, min_length: int) -> list[str]:
    """What is wrong with a new password, in words a user can act on."""
    problems = []
    if is_common(password):
        problems.append("is one of the most common passwords of public breaches")
    if len(password) < min_length:
        problems.append(f"must be at least {min_length} characters")
    if username and username.casefold() in password.casefold():
        problems.append("must not contain the username")
    if len(set(password)) < 4:
        problems.append("must not repeat so few characters")
    return problems
