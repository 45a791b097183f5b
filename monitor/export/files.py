"""Export files written atomically, readable by their owner alone (docs/exports.md, "Files": mode
0600, a created folder 0700).

The content goes to a temporary file in the target's own folder (same file system, so the
final rename is atomic), created with mode 0600 by :func:`tempfile.mkstemp`; it is flushed and
synced, then given its name, and the folder is synced so that the name survives a crash. A
failure at any point removes the temporary file: the target is either the whole export or
untouched, never half a file.

**An existing file is not replaced** unless ``overwrite`` is given (``--overwrite``): a typo
in ``-o`` must not destroy another document, and above all never the database. Even with
``overwrite``, the database file itself (and its ``-wal``/``-shm``/lock companions) is refused.
Without ``overwrite`` the name is taken with a hard link, which fails if the name appeared
meanwhile; a file system without hard links falls back to a rename after a check.

**Interrupted** (docs/exports.md, "Interrupted exports"): the command line turns SIGINT and
SIGTERM into an exception, so the temporary file goes like on any failure. A process killed
outright (SIGKILL, a power cut) cannot clean up: its temporary file (``.NAME.XXXXXXXX.part``,
patient data) stays. While it is written the file is locked (``flock``), and the lock dies
with its process; so the next export to the same folder removes each such file that no
process holds and that has not changed for :data:`STALE_AFTER` seconds
(:func:`remove_stale`), and says so.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from monitor.errors import Refused

FILE_MODE = 0o600
FOLDER_MODE = 0o700
#: A temporary file unchanged and unlocked this long (seconds) is an export's that was killed.
STALE_AFTER = 10.0
#: The temporary files :func:`atomic_file` makes: ``.`` NAME ``.`` 8 of mkstemp's characters
#: ``.part``.
TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.part")

try:  # POSIX; elsewhere no lock is taken, and a killed export's file is not recognised
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def _why(error: OSError) -> str:
    reason = error.strerror or error.__class__.__name__
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{reason}: choose a folder you may write to"
    if error.errno == errno.ENOSPC:
        return f"{reason}: free some space or choose another disk"
    if error.errno == errno.ENAMETOOLONG:
        return f"{reason}: choose a shorter name"
    return reason


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_target(path: str | Path, *, overwrite: bool, protected: tuple[Path, ...] = ()) -> Path:
    """The absolute target, refused (before anything is read or written) when it is a
    folder, an existing file without ``overwrite``, or one of the ``protected`` files (the
    database)."""
    if isinstance(path, str) and path.strip() == "":
        raise Refused("-o needs a file name, e.g. -o session.pdf")
    try:
        return _checked(Path(os.path.abspath(os.path.expanduser(path))), path, overwrite, protected)
    except (OSError, ValueError) as error:  # a name too long, a NUL byte in it
        why = _why(error) if isinstance(error, OSError) else str(error)
        raise Refused(f"cannot write {path}: {why}") from None


def _checked(target: Path, path: str | Path, overwrite: bool, protected: tuple[Path, ...]) -> Path:
    for kept in protected:
        for companion in (kept, *(kept.with_name(kept.name + s) for s in _COMPANIONS)):
            if target == companion or _same_file(target, companion):
                raise Refused(f"{path} is the database: choose another file name for the export")
    if target.is_dir():
        raise Refused(f"{path} is a folder: give a file name inside it, e.g. {target / 'export'}")
    if target.exists() and not overwrite:
        raise Refused(f"{path} exists: choose a new name, or give --overwrite to replace it")
    if target.exists() and not target.is_file():
        raise Refused(f"{path} is not a regular file: choose a file name")
    return target


_COMPANIONS = ("-wal", "-shm", "-journal", "-writelock")


def _make_folder(folder: Path) -> None:
    """Create a missing folder (and its missing parents) with mode 0700."""
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue
        # mkdir's mode passes through the umask; say 0700 exactly.
        os.chmod(created, FOLDER_MODE)


def _sync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform or file system that cannot open folders: nothing to sync
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextmanager
def atomic_file(target: Path, *, overwrite: bool = False) -> Iterator[BinaryIO]:
    """A binary file to write the export into; on leaving the ``with`` block normally it
    becomes ``target`` (mode 0600), on any error it disappears. ``target`` comes from
    :func:`check_target`."""
    folder = target.parent
    try:
        if not folder.exists():
            _make_folder(folder)
        if not folder.is_dir():
            raise Refused(f"{folder} is not a folder: choose a file name in a folder")
        # SIGINT and SIGTERM held back from the file's creation until the clean-up below
        # covers it: raised in between (as the command line raises them), it would stay.
        mask = _hold_signals()
        try:
            descriptor, temporary = tempfile.mkstemp(
                prefix=f".{target.name[:100]}.", suffix=".part", dir=folder
            )
        except BaseException:
            _release_signals(mask)
            raise
    except OSError as error:
        raise Refused(f"cannot write {target}: {_why(error)}") from None
    temp = Path(temporary)
    try:
        with os.fdopen(descriptor, "wb") as out:
            _lock(descriptor)
            _release_signals(mask)  # one held meanwhile is raised here, and cleaned up
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, FILE_MODE)
        _place(temp, target, overwrite=overwrite)
        _sync_folder(folder)
    except BaseException as error:
        temp.unlink(missing_ok=True)
        _release_signals(mask)  # (already, unless the file could not be opened)
        if isinstance(error, OSError):
            raise Refused(f"cannot write {target}: {_why(error)}") from None
        raise


_STOPS = (signal.SIGINT, signal.SIGTERM)


def _hold_signals() -> set[int] | None:
    """Block SIGINT and SIGTERM in this thread (delivered when released); the mask before,
    or None where threads have no signal mask."""
    if not hasattr(signal, "pthread_sigmask"):
        return None  # pragma: no cover - Windows
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS))


def _release_signals(mask: set[int] | None) -> None:
    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _lock(descriptor: int) -> None:
    """Hold the temporary file while it is written: the lock goes with the process, however
    it ends, which tells :func:`remove_stale` a live export's file from a killed one's."""
    if fcntl is not None:
        with suppress(OSError):  # no locks on this file system: nor can a probe take one
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _held(path: Path) -> bool:
    """True when a live process holds ``path``'s lock, or it cannot be told (a file system
    without locks: its files are never taken for a killed export's)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(descriptor)  # the probe's own lock goes with it
    return False


def remove_stale(folder: Path, *, older_than: float = STALE_AFTER) -> list[Path]:
    """Remove from ``folder`` the temporary files of exports killed outright: named as
    :func:`atomic_file` names them (:data:`TEMPORARY`), regular files of this user, held by
    no process, unchanged for ``older_than`` seconds. Returns those removed; a folder that
    cannot be listed, or a file that cannot be removed, is left as it is."""
    removed: list[Path] = []
    if fcntl is None:  # no lock tells a live export's file from a killed one's
        return removed
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not TEMPORARY.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not entry.is_file(follow_symlinks=False) or info.st_uid != os.getuid():
            continue
        if now - info.st_mtime < older_than or _held(Path(entry.path)):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _place(temp: Path, target: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)
    except FileExistsError:
        raise Refused(
            f"{target} appeared while the export was written: choose a new name, or give "
            "--overwrite"
        ) from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # No hard links here (some network or FAT file systems): check, then rename.
        if target.exists():
            raise Refused(f"{target} exists: choose a new name, or give --overwrite") from None
        os.replace(temp, target)
        return
    temp.unlink()
