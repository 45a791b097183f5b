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
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from monitor.errors import Refused

FILE_MODE = 0o600
FOLDER_MODE = 0o700


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
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{target.name[:100]}.", suffix=".part", dir=folder
        )
    except OSError as error:
        raise Refused(f"cannot write {target}: {_why(error)}") from None
    temp = Path(temporary)
    try:
        with os.fdopen(descriptor, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, FILE_MODE)
        _place(temp, target, overwrite=overwrite)
        _sync_folder(folder)
    except BaseException as error:
        temp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise Refused(f"cannot write {target}: {_why(error)}") from None
        raise


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
