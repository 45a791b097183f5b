"""The schema's one definition is Core (monitor.store.tables, docs/storage.md "The schema"):
its DDL on both dialects is what the declarative models made before it (issue #23), the ORM
classes are mapped onto those very tables, and importing it loads no ``sqlalchemy.orm``.

``tests/store/schema.txt`` is the DDL (SQLite, then PostgreSQL) and each column's details that
DDL does not show (Python-side defaults, keys), as the declarative models made them. After a
deliberate schema change, with its migration, write it again:
``python tests/store/test_tables.py --write``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import MetaData
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

SNAPSHOT = Path(__file__).with_name("schema.txt")
ROOT = Path(__file__).resolve().parents[2]


def schema_dump(metadata: MetaData) -> str:
    """Every table's and index's DDL on SQLite and PostgreSQL, then each column's details."""
    out = []
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        for table in metadata.sorted_tables:
            out.append(str(CreateTable(table).compile(dialect=dialect)).strip())
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                out.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
    for table in metadata.sorted_tables:
        for c in table.columns:
            fks = [(f.target_fullname, f.name, f.constraint.name) for f in c.foreign_keys]  # type: ignore[union-attr]
            out.append(
                f"{table.name}.{c.name} key={c.key} type={c.type!r} null={c.nullable} "
                f"pk={c.primary_key} auto={c.autoincrement} "
                f"default={getattr(c.default, 'arg', None)!r} "
                f"server={getattr(c.server_default, 'arg', None)!r} unique={c.unique} "
                f"index={c.index} fks={fks}"
            )
        names = sorted((type(k).__name__, str(k.name)) for k in table.constraints)
        out.append(f"{table.name} constraints {names!r}")
    return "\n\n".join(out) + "\n"


def _tables_metadata() -> MetaData:
    from monitor.store import tables

    tables.add_partial_indexes()
    return tables.metadata


def test_the_tables_ddl_is_the_declarative_models():
    assert schema_dump(_tables_metadata()) == SNAPSHOT.read_text()


def test_the_models_are_mapped_onto_the_tables():
    from monitor.store import models, tables

    assert models.Base.metadata is tables.metadata
    mapped = {mapper.class_.__name__: mapper for mapper in models.Base.registry.mappers}
    assert len(mapped) == len(tables.metadata.tables) == 19
    for mapper in mapped.values():
        table = mapper.local_table
        assert tables.metadata.tables[table.name] is table
        # Every column is an attribute of the same name.
        assert sorted(mapper.columns.keys()) == sorted(table.c.keys())
    assert models.TreatmentSession.patient.property.lazy == "joined"
    assert models.TreatmentSession.patient.property.mapper.class_ is models.Patient


def test_importing_the_tables_loads_no_orm():
    code = (
        "import sys, monitor.store.tables\n"
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'sqlalchemy.orm', 'sqlalchemy.dialects.postgresql', 'monitor.store.models'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    SNAPSHOT.write_text(schema_dump(_tables_metadata()))
