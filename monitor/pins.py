"""PIN hashing with scrypt (memory-hard, in the standard library)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from monitor.errors import EntryError

_N, _R, _P = 2**14, 8, 1  # about 16 MiB of memory per hash
_PIN = re.compile(r"^[0-9]{4,12}$")


def validate_pin(pin: str) -> str:
    """Refuse a PIN that is not 4 to 12 digits."""
    if not _PIN.match(pin):
        raise EntryError("a PIN is 4 to 12 digits")
    return pin


def hash_pin(pin: str) -> str:
    """A salted scrypt hash, self-describing: ``scrypt$n$r$p$salt$hash``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches the stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(candidate.hex(), digest)


_DUMMY: list[str] = []


def dummy_verify(pin: str) -> None:
    """Spend the time of a real check (an unknown user must not answer faster)."""
    if not _DUMMY:
        _DUMMY.append(hash_pin("0000"))
    verify_pin(pin, _DUMMY[0])
