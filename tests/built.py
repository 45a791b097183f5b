"""Data a test builds through the services, built once and copied after (docs/architecture.md,
"Cheap set-ups").

Many station tests start from the same floor of five sessions (tests/station.py), a second of
service calls each. :func:`remembered` builds such data the first time and keeps a copy of the
SQLite file it made; when a later test's database holds exactly what the first held before the
build (every row of every table, and the same station settings), the copy is written into that
database instead (SQLite's backup, which the open connections see as another writer's commit)
and the build's result returned again. On PostgreSQL the database after the first build is
kept as a template database, and a later test's database with the same rows before is made a
copy of it under its own name. Anything else (another start) builds.

A build must depend only on the database and the station settings (fixed clocks, nothing
random), as the floor's does, or be one whose differences no test reads: users added by the
command line at the wall clock's time, for example.
"""

from __future__ import annotations

import copy
import hashlib
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import make_url

from monitor.services import Service

T = TypeVar("T")

_FOLDER = tempfile.TemporaryDirectory(prefix="monitor-built-")
#: (name, settings, contents before) -> (the file after the build, its result)
_BUILT: dict[tuple[str, str, str], tuple[Path, object]] = {}


def sqlite_file(where: Service | str) -> Path | None:
    """The SQLite file of a service or database URL, or None (PostgreSQL, or in memory)."""
    if isinstance(where, str) and "://" not in where:
        return Path(where)  # a file's path, as --db takes it
    url = where.engine.url if isinstance(where, Service) else make_url(where)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def contents(path: Path) -> str:
    """A digest of every table's definition and rows (in any order)."""
    digest = hashlib.sha256()
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        schema = connection.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        digest.update(repr(schema).encode())
        for kind, table, _ in schema:
            if kind == "table":
                rows = sorted(repr(row) for row in connection.execute(f'SELECT * FROM "{table}"'))
                digest.update(repr((table, rows)).encode())
    finally:
        connection.close()
    return digest.hexdigest()


def _copy(source: Path, target: Path) -> None:
    """Every page of ``source`` into ``target`` (SQLite's online backup)."""
    into = sqlite3.connect(target)
    try:
        origin = sqlite3.connect(source)
        try:
            origin.backup(into)
        finally:
            origin.close()
    finally:
        into.close()


def remembered(where: Service | str, name: str, build: Callable[[], T], *inputs: object) -> T:
    """``build()`` on the database of a service or URL, or the same build's data copied in
    (see above); ``inputs``: anything else the build depends on (a clock's time)."""
    path = sqlite_file(where)
    if path is None:
        return _remembered_pg(where, name, build, inputs)
    settings = where.local if isinstance(where, Service) else None
    key = (name, repr((settings, inputs)), contents(path))
    done = _BUILT.get(key)
    if done is not None:
        after, result = done
        _copy(after, path)
        return copy.deepcopy(result)  # type: ignore[return-value]
    result = build()
    after = Path(_FOLDER.name) / f"{len(_BUILT)}.db"
    _copy(path, after)
    _BUILT[key] = (after, copy.deepcopy(result))
    return result


#: (name, settings, contents before) -> (a template database of the data after, its result)
_BUILT_PG: dict[tuple[str, str, str], tuple[str, object]] = {}


def _remembered_pg(where: Service | str, name: str, build: Callable[[], T], inputs: tuple) -> T:
    """:func:`remembered` on PostgreSQL: the data after the first build kept as a template
    database; a later test's database whose contents were the same before is made a copy of
    it, under its own name (tests/pg_pool.py)."""
    url = where.engine.url if isinstance(where, Service) else make_url(where)
    if url.get_backend_name() != "postgresql":
        return build()
    from tests.conftest import _DATABASES

    database = str(url.database)
    settings = where.local if isinstance(where, Service) else None
    key = (name, repr((settings, inputs)), pg_contents(url))
    done = _BUILT_PG.get(key)
    if done is not None:
        template, result = done
        if isinstance(where, Service):
            where.engine.dispose()
        _DATABASES.replace(database, template)
        return copy.deepcopy(result)  # type: ignore[return-value]
    result = build()
    if isinstance(where, Service):
        where.engine.dispose()
    template = _DATABASES.keep(database)
    if template is not None:
        _BUILT_PG[key] = (template, copy.deepcopy(result))
    return result


def pg_contents(url: object) -> str:
    """A digest of every table's rows (in any order) and every sequence's state, in every
    schema of a PostgreSQL database but the system's: the server digests each table's rows,
    all in one statement."""
    from sqlalchemy import create_engine, text

    from tests.pg_pool import USER_RELATIONS

    digest = hashlib.sha256()
    engine = create_engine(url)  # type: ignore[call-overload]
    try:
        with engine.connect() as connection:
            relations = connection.execute(text(USER_RELATIONS)).all()
            parts = []
            for quoted, kind in relations:
                state = (
                    f"(SELECT last_value::text || ' ' || is_called::text FROM {quoted})"
                    if kind == "S"
                    else f"(SELECT md5(string_agg(r::text, E'\\n' ORDER BY r::text)) "
                    f"FROM {quoted} r)"
                )
                parts.append(f"SELECT {len(parts)} AS n, {state} AS state")
            if parts:
                states = connection.execute(text(" UNION ALL ".join(parts) + " ORDER BY 1"))
                digest.update(repr((relations, [state for _, state in states])).encode())
    finally:
        engine.dispose()
    return digest.hexdigest()
