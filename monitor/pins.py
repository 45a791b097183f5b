"""PIN hashing for SQLite: scrypt over an HMAC under the clinic's secret (docs/storage.md,
"Who acts").

A 4-digit PIN has 10,000 values: whoever copies a database file could try them all against a
plain hash in minutes. So the hash is taken of ``HMAC-SHA256(secret, pin)``, where the secret
(a "pepper") is a random key kept outside the database, in the user's configuration folder
(mode 0600), made at ``monitor db upgrade`` or with the first PIN. A copied file alone verifies
nothing. Hashes made before the secret (``scrypt$...``) still verify, and are made again under
it at the next accepted PIN.

On PostgreSQL the database hashes and checks PINs itself (monitor.store.identity).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from monitor.errors import EntryError, Refused

_N, _R, _P = 2**14, 8, 1  # about 16 MiB of memory per hash
_PIN = re.compile(r"^[0-9]{4,12}$")
SECRET_ENV = "MONITOR_SECRET_FILE"
_LEGACY = "scrypt"
_PEPPERED = "scrypt-hmac"


def validate_pin(pin: str) -> str:
    """Refuse a PIN that is not 4 to 12 digits."""
    if not _PIN.match(pin):
        raise EntryError("a PIN is 4 to 12 digits")
    return pin


def looks_like_pin(text: str) -> bool:
    """Whether ``text`` has a PIN's form (typed in the name field by mistake)."""
    return bool(_PIN.match(text.strip()))


def secret_path() -> Path:
    """Where the clinic's secret is kept: ``MONITOR_SECRET_FILE`` or the configuration folder."""
    given = os.environ.get(SECRET_ENV)
    if given:
        return Path(given).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("monitor", appauthor=False)) / "pin-secret"


def _missing(path: Path) -> Refused:
    return Refused(
        f"the PINs of this database are checked with the clinic's secret file {path}, which "
        "is not here: copy it (mode 0600) from the computer that made the database, or have "
        "the database's owner give PINs again with `monitor user recover NAME`"
    )


def load_secret(*, create: bool) -> bytes:
    """The clinic's secret; made (mode 0600, its folder 0700) when missing and ``create``."""
    path = secret_path()
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        if not create:
            raise _missing(path) from None
        return _make_secret(path)
    except (OSError, UnicodeDecodeError) as error:
        raise Refused(f"cannot read the clinic's secret file {path}: {error}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise Refused(f"the clinic's secret file {path} is damaged: restore it from a copy")
    return key


def _make_secret(path: Path) -> bytes:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise Refused(f"cannot create the folder of the secret {path}: {error.strerror}") from None
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:  # another process made it first
        return load_secret(create=False)
    except OSError as error:
        raise Refused(f"cannot create the clinic's secret file {path}: {error.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key.hex() + "\n")
    return key


def _scrypt(data: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(data, salt=salt, n=n, r=r, p=p, dklen=32)


def hash_pin(pin: str, secret: bytes | None = None) -> str:
    """A salted scrypt hash of the PIN under the secret: ``scrypt-hmac$n$r$p$salt$hash``."""
    key = load_secret(create=True) if secret is None else secret
    salt = secrets.token_bytes(16)
    keyed = hmac.new(key, pin.encode(), hashlib.sha256).digest()
    digest = _scrypt(keyed, salt, _N, _R, _P)
    return f"{_PEPPERED}${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made before the clinic's secret."""
    return stored.startswith(_LEGACY + "$")


def verify_pin(pin: str, stored: str, secret: bytes | None = None) -> bool:
    """True when ``pin`` matches the stored hash (constant-time comparison). A hash under the
    secret needs the secret file: without it, refused saying so."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        cost = (int(n), int(r), int(p))
        salt_bytes = bytes.fromhex(salt)
    except ValueError:
        return False
    if scheme == _LEGACY:
        data = pin.encode()
    elif scheme == _PEPPERED:
        key = load_secret(create=False) if secret is None else secret
        data = hmac.new(key, pin.encode(), hashlib.sha256).digest()
    else:
        return False
    if cost != (_N, _R, _P) and not (2**10 <= cost[0] <= 2**20 and cost[1] <= 16 and cost[2] <= 4):
        return False  # a forged cost must not stall the check
    candidate = _scrypt(data, salt_bytes, *cost)
    return hmac.compare_digest(candidate.hex(), digest)


_DUMMY: list[str] = []


def dummy_verify(pin: str) -> None:
    """Spend the time of a real check (an unknown user must not answer faster)."""
    if not _DUMMY:
        _DUMMY.append(hash_pin("0000", secrets.token_bytes(32)))
    verify_pin(pin, _DUMMY[0], b"\0" * 32)
