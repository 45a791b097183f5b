"""What ``monitor db check`` compares: the objects of a database that the models do not
describe (triggers, functions, views, rules, policies, grants, role settings), against those of
a database freshly migrated to the same revision (docs/storage.md, "Timeouts, read-only files
and db check").

The expected set is never written down here: it is read from a scratch database that
:func:`scratch_database` makes and the caller migrates, so every migration (its triggers, its
schemas, its ``SECURITY DEFINER`` functions, its grants) is taken in as it lands. A foreign
trigger, a function changed in place, a grant or a role setting that no migration gives is
reported by name; so is a guard that is missing or switched off.

Only :func:`monitor.store.migrate.check` calls this module.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from monitor.errors import Refused
from monitor.store.engine import make_engine

#: An object as :func:`snapshot` names it: (kind, name) -> its definition ("" when only its
#: presence counts).
Snapshot = dict[tuple[str, str], str]


@dataclass(frozen=True)
class Difference:
    """One way the database differs from a fresh one."""

    #: "unknown" (here, not in a fresh database), "missing" (the other way) or "changed".
    change: str
    kind: str
    name: str
    detail: str = ""

    def line(self) -> str:
        """The difference as one line of ``db check``'s report."""
        text = f"{self.change} {self.kind}: {self.name}"
        return f"{text}: {self.detail}" if self.detail else text


def _one_line(definition: str) -> str:
    return " ".join(definition.split())


#: A fresh database's definition is shown beside a changed one up to this length.
_SHOWN = 200


def _changed(here: str, fresh: str) -> str:
    fresh = _one_line(fresh)
    shown = fresh if len(fresh) <= _SHOWN else fresh[:_SHOWN] + "..."
    return f"{_one_line(here)} (a fresh database: {shown or 'nothing'})"


def compare(actual: Snapshot, expected: Snapshot) -> list[Difference]:
    """The differences of ``actual`` from ``expected``: unknown objects first, then changed
    and missing ones, each group by kind and name. A definition is compared with its runs of
    white space as one space. The server-wide entries (:data:`SERVER_WIDE`) of ``expected``
    are left out: the database checked shares them, and each found there is reported."""
    expected = {key: value for key, value in expected.items() if key[0] not in SERVER_WIDE}
    unknown = [
        Difference("unknown", kind, name, _one_line(actual[kind, name]))
        for kind, name in sorted(actual.keys() - expected.keys())
    ]
    changed = [
        Difference("changed", kind, name, _changed(actual[kind, name], expected[kind, name]))
        for kind, name in sorted(actual.keys() & expected.keys())
        if _one_line(actual[kind, name]) != _one_line(expected[kind, name])
    ]
    missing = [
        Difference("missing", kind, name, _one_line(expected[kind, name]))
        for kind, name in sorted(expected.keys() - actual.keys())
    ]
    return [*unknown, *changed, *missing]


def snapshot(engine: Engine) -> Snapshot:
    """The objects of the database behind ``engine`` that :func:`compare` looks at."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            return _sqlite(connection)
        return _postgresql(connection)


# -- the scratch database --------------------------------------------------------------------


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A new, empty database of the same backend as ``url``, dropped afterwards: an SQLite
    file in a temporary folder, or on PostgreSQL a database created (from ``template0``) by
    the role ``url`` connects as. Refused, saying so, when that role may not create one: a
    check that cannot compare must not pass."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="monitor-check-") as folder:
            yield f"sqlite:///{Path(folder) / 'fresh.db'}"
        return
    name = f"monitor_check_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            try:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
            except ProgrammingError as error:
                role = connection.exec_driver_sql("SELECT current_user").scalar_one()
                cause = str(error.orig).strip().splitlines()[0]
                raise Refused(
                    "cannot compare the triggers, functions and grants with a fresh database: "
                    f"the role {role} may not create one ({cause}); run `monitor db check` as "
                    "a role with CREATEDB (the database's owner or an administrator)"
                ) from None
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


# -- SQLite ----------------------------------------------------------------------------------


def _sqlite(connection: Connection) -> Snapshot:
    """Triggers and views with their SQL: SQLite keeps nothing else the models leave out."""
    rows = connection.exec_driver_sql(
        "SELECT type, name, sql FROM sqlite_master "
        "WHERE type IN ('trigger', 'view') AND name NOT LIKE 'sqlite_%'"
    )
    return {(kind, name): sql or "" for kind, name, sql in rows}


# -- PostgreSQL ------------------------------------------------------------------------------

#: Schemas of the server itself, and every session's temporary ones.
_SYSTEM = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
    "AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'"
)
#: Not a member of an extension (pgcrypto's functions are the extension's, compared as one).
_OWN = (
    "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = {catalog}::regclass "
    "AND d.objid = {oid} AND d.deptype = 'e')"
)

_QUERIES: dict[str, str] = {
    "schema": f"SELECT n.nspname, '' FROM pg_namespace n WHERE {_SYSTEM}",
    "extension": (
        "SELECT e.extname, e.extversion || ' in ' || n.nspname FROM pg_extension e "
        "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'"
    ),
    "relation": (
        "SELECT n.nspname || '.' || c.relname, c.relkind::text "
        "|| CASE WHEN c.relrowsecurity THEN ' row security' ELSE '' END "
        "|| CASE WHEN c.relforcerowsecurity THEN ' forced' ELSE '' END "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {_SYSTEM} "
        f"AND {_OWN.format(catalog=repr('pg_class'), oid='c.oid')}"
    ),
    "trigger": (
        "SELECT n.nspname || '.' || c.relname || '.' || t.tgname, "
        "pg_get_triggerdef(t.oid) || CASE t.tgenabled WHEN 'O' THEN '' "
        "ELSE ' (enabled: ' || t.tgenabled::text || ')' END "
        "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        f"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND {_SYSTEM}"
    ),
    "event trigger": (
        "SELECT e.evtname, e.evtevent || ' ' || e.evtfoid::regproc::text || ' ' "
        "|| e.evtenabled::text FROM pg_event_trigger e"
    ),
    "function": (
        "SELECT n.nspname || '.' || p.proname || '(' "
        "|| pg_get_function_identity_arguments(p.oid) || ')', "
        "CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) "
        "ELSE p.prokind::text || ' returning ' || p.prorettype::regtype::text END "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        f"WHERE {_SYSTEM} AND {_OWN.format(catalog=repr('pg_proc'), oid='p.oid')}"
    ),
    "operator": (
        "SELECT n.nspname || '.' || o.oprname || '(' || o.oprleft::regtype::text || ', ' "
        "|| o.oprright::regtype::text || ')', o.oprcode::text "
        "FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace "
        f"WHERE {_SYSTEM} AND {_OWN.format(catalog=repr('pg_operator'), oid='o.oid')}"
    ),
    "view": (
        "SELECT schemaname || '.' || viewname, definition FROM pg_views "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
        "UNION ALL SELECT schemaname || '.' || matviewname, definition FROM pg_matviews"
    ),
    "rule": (
        "SELECT schemaname || '.' || tablename || '.' || rulename, definition FROM pg_rules "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    ),
    # Who owns each object: the database's owner, as in a fresh database. Another owner (the
    # station role given a table) would make the database trust that role as its owner.
    "owner": (
        "WITH d AS (SELECT datdba FROM pg_database WHERE datname = current_database()) "
        "SELECT 'relation ' || n.nspname || '.' || c.relname, CASE WHEN c.relowner = d.datdba "
        "THEN 'the database owner' ELSE pg_get_userbyid(c.relowner) END "
        "FROM d, pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {_SYSTEM} "
        "UNION ALL SELECT 'function ' || n.nspname || '.' || p.proname || '(' "
        "|| pg_get_function_identity_arguments(p.oid) || ')', CASE WHEN p.proowner = d.datdba "
        "THEN 'the database owner' ELSE pg_get_userbyid(p.proowner) END "
        f"FROM d, pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {_SYSTEM} "
        "UNION ALL SELECT 'schema ' || n.nspname, CASE WHEN n.nspowner = d.datdba "
        "THEN 'the database owner' ELSE pg_get_userbyid(n.nspowner) END "
        f"FROM d, pg_namespace n WHERE {_SYSTEM} AND n.nspname <> 'public'"
    ),
    "policy": (
        "SELECT schemaname || '.' || tablename || '.' || policyname, "
        "permissive || ' ' || cmd || ' to ' || array_to_string(roles, ',') "
        "|| ' using ' || coalesce(qual, '-') || ' check ' || coalesce(with_check, '-') "
        "FROM pg_policies"
    ),
}

#: A privilege as one row: (object, grantee) -> privilege; the owner's own are left out (the
#: scratch database's owner is whoever checks), PUBLIC is named so.
_GRANTEE = "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END"
_PRIVILEGE = "a.privilege_type || CASE WHEN a.is_grantable THEN ' with grant option' ELSE '' END"
_GRANTS = f"""
SELECT n.nspname || '.' || c.relname, {_GRANTEE}, {_PRIVILEGE}
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
     aclexplode(coalesce(c.relacl, acldefault(
         CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {_SYSTEM} AND a.grantee <> c.relowner
UNION ALL
SELECT n.nspname || '.' || c.relname || '.' || t.attname, {_GRANTEE}, {_PRIVILEGE}
FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(t.attacl) a
WHERE t.attnum > 0 AND NOT t.attisdropped AND t.attacl IS NOT NULL AND {_SYSTEM}
  AND a.grantee <> c.relowner
UNION ALL
SELECT 'function ' || n.nspname || '.' || p.proname || '('
       || pg_get_function_identity_arguments(p.oid) || ')', {_GRANTEE}, {_PRIVILEGE}
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,
     aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
WHERE {_SYSTEM} AND a.grantee <> p.proowner
UNION ALL
SELECT 'schema ' || n.nspname, {_GRANTEE}, {_PRIVILEGE}
FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
WHERE {_SYSTEM} AND a.grantee <> n.nspowner
UNION ALL
SELECT 'this database', {_GRANTEE}, {_PRIVILEGE}
FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
WHERE d.datname = current_database() AND a.grantee <> d.datdba
UNION ALL
SELECT 'default privileges of ' || CASE WHEN o.defaclrole = d.datdba
           OR o.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)
           THEN 'the owner' ELSE pg_get_userbyid(o.defaclrole) END
       || coalesce(' in ' || n.nspname, '') || ' on ' || o.defaclobjtype::text,
       {_GRANTEE}, {_PRIVILEGE}
FROM pg_default_acl o LEFT JOIN pg_namespace n ON n.oid = o.defaclnamespace
     CROSS JOIN (SELECT datdba FROM pg_database WHERE datname = current_database()) d,
     aclexplode(o.defaclacl) a
"""

#: Settings ALTER ROLE / ALTER DATABASE give sessions in this database: "role in this
#: database", "every role in this database".
_SETTINGS = """
SELECT coalesce(pg_get_userbyid(nullif(s.setrole, 0)), 'every role') || ' in this database',
       array_to_string(s.setconfig, ', ')
FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
WHERE d.datname = current_database()
"""

#: What a role holding a privilege here has on the whole server: settings for every database,
#: attributes, and memberships that give more (a superuser, an owner here, a predefined role).
_ROLES = """
WITH grantee AS (SELECT DISTINCT r.oid, r.rolname FROM pg_roles r WHERE r.rolname = ANY(:names))
SELECT 'role setting', g.rolname || ' in every database', array_to_string(s.setconfig, ', ')
FROM grantee g JOIN pg_db_role_setting s ON s.setrole = g.oid AND s.setdatabase = 0
UNION ALL
SELECT 'role attribute', g.rolname, concat_ws(' ',
       CASE WHEN r.rolsuper THEN 'SUPERUSER' END,
       CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
       CASE WHEN r.rolcreatedb THEN 'CREATEDB' END,
       CASE WHEN r.rolreplication THEN 'REPLICATION' END,
       CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END)
FROM grantee g JOIN pg_roles r ON r.oid = g.oid
WHERE r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls
UNION ALL
SELECT 'role membership', g.rolname || ' in ' || r.rolname, ''
FROM grantee g JOIN pg_roles r ON r.oid <> g.oid AND pg_has_role(g.oid, r.oid, 'MEMBER')
WHERE r.rolsuper OR r.rolname LIKE 'pg\\_%'
   OR r.oid = (SELECT datdba FROM pg_database WHERE datname = current_database())
   OR EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = r.oid AND c.relkind = 'r'
              AND c.relnamespace = 'public'::regnamespace)
"""

#: The kinds whose every entry is reported as it stands, not compared with the scratch
#: database: they belong to the whole server, so the scratch database shares them; no
#: migration gives them.
SERVER_WIDE = frozenset({"role setting", "role attribute", "role membership"})


def _postgresql(connection: Connection) -> Snapshot:
    found: Snapshot = {}
    for kind, query in _QUERIES.items():
        for name, definition in connection.execute(text(query)):
            found[kind, name] = definition or ""
    grants: dict[tuple[str, str], list[str]] = {}
    for target, grantee, privilege in connection.execute(text(_GRANTS)):
        grants.setdefault((target, grantee), []).append(privilege)
    for (target, grantee), privileges in grants.items():
        found["grant", f"{target} to {grantee}"] = ", ".join(sorted(privileges))
    for name, settings in connection.execute(text(_SETTINGS)):
        found["database setting", name] = settings or ""
    names = sorted({grantee for _, grantee in grants if grantee != "PUBLIC"})
    for kind, name, detail in connection.execute(text(_ROLES), {"names": names}):
        found[kind, name] = detail or ""
    return found
