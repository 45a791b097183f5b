"""The database knows who acts (PostgreSQL): PINs it verifies itself, proofs it checks on
every row (docs/storage.md, "Who acts").

Stations connect as one shared role, so the role alone says nothing about who is acting. Here
the database asks for more:

- PINs are bcrypt hashes (pgcrypto) in ``monitor_private.pins``, a schema the station role
  cannot even see. ``monitor_auth.sign_in(name, pin)`` checks a PIN, counts refusals and locks
  (the same rule as :mod:`monitor.core.lockout`), audits every refusal, and on success returns
  a sign-in token (kept only as its SHA-256) good for :data:`TOKEN_HOURS`.
- A proof is the list of users who proved a PIN or presented a token *in this transaction*,
  kept in the transaction-local setting ``monitor.proof`` with the transaction id and an HMAC
  under a secret only the database owner can read: a station can set the setting but cannot
  forge it, and it dies with the transaction. ``monitor_auth.act(token)`` adds the token's
  user to it.
- A trigger on every table of the record (:func:`guard_actor`) refuses a row, inserted or
  changed by a station, that names a user who is not in the proof, an insert with no proof at
  all, an audit row in no proven name, and an id that does not come from the table's sequence.
  Users change only through the definer functions here (the role has no INSERT or UPDATE on
  ``users``), which enforce who may do what.

Connections of the database owner (or a superuser) are trusted as the owner always is: they
can drop any trigger anyway. Every function pins its ``search_path`` and names its tables with
their schema, so a temporary table cannot shadow one.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from monitor.core.lockout import LOCK_CAP_MIN, LOCKOUT_AFTER_RANGE, LOCKOUT_MIN_RANGE

PRIVATE = "monitor_private"
AUTH = "monitor_auth"
#: How long a sign-in token proves its user (a shift); the station locks much sooner.
TOKEN_HOURS = 12
#: bcrypt's cost: about 14 ms a hash on the reference machine (docs/benchmarks.md).
BCRYPT_COST = 8

#: The columns naming a user, per table: each must name a user proven in the transaction.
ACTOR_COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": (),
    "treatment_sessions": (
        "started_by_id",
        "dosed_by_id",
        "dose_cosigned_by_id",
        "infusion_ended_by_id",
        "discharged_by_id",
        "discharge_cosigned_by_id",
        "ready_minute_by_id",
    ),
    "readings": ("recorded_by_id",),
    "flags": (),
    "acknowledgements": ("by_id", "cosigned_by_id"),
    "voids": ("by_id",),
    "check_skips": ("by_id",),
    "events": ("by_id",),
    "sign_offs": ("by_id",),
    "reopenings": ("by_id",),
    "rems_submissions": ("by_id",),
    "rems_corrections": ("by_id",),
    "infusion_end_corrections": ("by_id",),
    "config_versions": ("by_id",),
    "audit_log": ("user_name",),
}

#: Migration 0010's tables (bedside monitors), guarded the same way.
DEVICE_ACTOR_COLUMNS: dict[str, tuple[str, ...]] = {
    "devices": ("by_id",),
    "device_bays": ("by_id",),
    "validations": ("by_id",),
}

#: Tables whose ids the program numbers itself (no sequence to come from).
NUMBERED = ("config_versions",)

# -- PostgreSQL: who acts --------------------------------------------------------------------


def pg_run(connection: Connection, sql: str) -> None:
    """Run SQL with ``%`` meant for PostgreSQL (psycopg reads a single one as a parameter)."""
    connection.exec_driver_sql(sql.replace("%", "%%"))


def crypto_schema(connection: Connection) -> str:
    """The schema pgcrypto lives in, installing it into the private schema if need be."""
    found = connection.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pgcrypto'"
    ).scalar()
    if found is not None:
        return str(found)
    connection.exec_driver_sql(f"CREATE EXTENSION pgcrypto SCHEMA {PRIVATE}")
    return PRIVATE


def _functions(c: str) -> str:
    """The definer functions; ``c`` is pgcrypto's schema."""
    lo_after, hi_after = LOCKOUT_AFTER_RANGE
    lo_min, hi_min = LOCKOUT_MIN_RANGE
    definer = "SECURITY DEFINER SET search_path = pg_catalog, pg_temp"
    dummy = f"{c}.crypt('0000', '$2a$0{BCRYPT_COST}$abcdefghijklmnopqrstuu')"
    return rf"""
CREATE FUNCTION {AUTH}.privileged() RETURNS boolean LANGUAGE sql STABLE {definer} AS $$
    SELECT r.rolsuper OR pg_has_role(session_user, c.relowner, 'MEMBER')
    FROM pg_roles r, pg_class c
    WHERE r.rolname = session_user AND c.oid = 'public.audit_log'::regclass
$$;

CREATE FUNCTION {PRIVATE}.mac(payload text) RETURNS text LANGUAGE sql STABLE {definer} AS $$
    SELECT encode({c}.hmac(convert_to(payload, 'UTF8'),
        (SELECT k FROM {PRIVATE}.secret WHERE id = 1), 'sha256'), 'hex')
$$;

-- The users proven in this transaction (empty when none, or when the proof is forged).
CREATE FUNCTION {AUTH}.proven() RETURNS integer[] LANGUAGE plpgsql VOLATILE {definer} AS $$
DECLARE
    proof text := current_setting('monitor.proof', true);
    xid text := pg_current_xact_id_if_assigned()::text;
    parts text[];
BEGIN
    IF proof IS NULL OR proof = '' OR xid IS NULL THEN RETURN '{{}}'; END IF;
    parts := string_to_array(proof, '|');
    IF array_length(parts, 1) <> 3 OR parts[1] <> xid
        OR parts[3] <> {PRIVATE}.mac(parts[1] || '|' || parts[2]) THEN
        RETURN '{{}}';
    END IF;
    RETURN string_to_array(parts[2], ',')::integer[];
END $$;

CREATE FUNCTION {PRIVATE}.add_proof(uid integer) RETURNS void LANGUAGE plpgsql VOLATILE
{definer} AS $$
DECLARE
    xid text := pg_current_xact_id()::text;
    ids integer[] := {AUTH}.proven();
    list text;
BEGIN
    IF NOT uid = ANY(ids) THEN ids := ids || uid; END IF;
    list := array_to_string(ids, ',');
    PERFORM set_config('monitor.proof',
        xid || '|' || list || '|' || {PRIVATE}.mac(xid || '|' || list), true);
END $$;

CREATE FUNCTION {PRIVATE}.proven_supervisor() RETURNS boolean LANGUAGE sql VOLATILE
{definer} AS $$
    SELECT EXISTS (SELECT 1 FROM public.users u WHERE u.id = ANY({AUTH}.proven())
        AND u.role = 'supervisor' AND u.disabled_at IS NULL)
$$;

-- The moment a function acts at: the caller's for the owner (tests give a clock), the
-- database's for a station.
CREATE FUNCTION {PRIVATE}.moment(given timestamptz) RETURNS timestamptz LANGUAGE sql VOLATILE
{definer} AS $$
    SELECT CASE WHEN given IS NOT NULL AND {AUTH}.privileged() THEN given
        ELSE clock_timestamp() END
$$;

CREATE FUNCTION {PRIVATE}.pin_hash(pin text) RETURNS text LANGUAGE plpgsql VOLATILE
{definer} AS $$
BEGIN
    IF pin IS NULL OR pin !~ '^[0-9]{{4,12}}$' THEN
        RAISE EXCEPTION 'monitor: a PIN is 4 to 12 digits' USING ERRCODE = 'check_violation';
    END IF;
    RETURN {c}.crypt(pin, {c}.gen_salt('bf', {BCRYPT_COST}));
END $$;

CREATE FUNCTION {PRIVATE}.refuse(why text) RETURNS void LANGUAGE plpgsql {definer} AS $$
BEGIN
    RAISE EXCEPTION 'monitor: %', why USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE FUNCTION {PRIVATE}.last_supervisor(uid integer) RETURNS boolean LANGUAGE sql STABLE
{definer} AS $$
    SELECT NOT EXISTS (SELECT 1 FROM public.users u WHERE u.id <> uid
        AND u.role = 'supervisor' AND u.disabled_at IS NULL)
$$;

-- A PIN checked: the token, or NULL when refused (the refusal audited and counted). The lock
-- rule is monitor.core.lockout's: lock_after refusals in a row lock for lock_min minutes,
-- doubled at each lock in a row up to a day; the last active supervisor's lock never grows.
CREATE FUNCTION {AUTH}.sign_in(p_name text, p_pin text, p_lock_after integer,
    p_lock_min integer, p_at timestamptz DEFAULT NULL)
RETURNS text LANGUAGE plpgsql VOLATILE {definer} AS $$
DECLARE
    now_ timestamptz := {PRIVATE}.moment(p_at);
    -- The lockout of the rules in force, as the last `config load` told the database; the
    -- caller's only for the owner (a station must not choose how often it may guess).
    rule_after integer := (SELECT l.lock_after FROM {PRIVATE}.lockout l WHERE l.id = 1);
    rule_min integer := (SELECT l.lock_min FROM {PRIVATE}.lockout l WHERE l.id = 1);
    lock_after integer := least(greatest(coalesce(CASE WHEN {AUTH}.privileged()
        THEN p_lock_after END, rule_after, 5), {lo_after}), {hi_after});
    lock_min integer := least(greatest(coalesce(CASE WHEN {AUTH}.privileged()
        THEN p_lock_min END, rule_min, 15), {lo_min}), {hi_min});
    -- A name shaped like a PIN (typed in the wrong field) is never kept.
    shown text := CASE WHEN p_name ~ '^\s*[0-9]{{4,12}}\s*$'
        THEN '(not kept: shaped like a PIN)' ELSE left(p_name, 64) END;
    u public.users%ROWTYPE;
    stored text;
    why text;
    failed integer;
    minutes integer;
    token bytea;
BEGIN
    SELECT * INTO u FROM public.users WHERE name = p_name FOR NO KEY UPDATE;
    IF u.id IS NOT NULL THEN
        SELECT hash INTO stored FROM {PRIVATE}.pins WHERE user_id = u.id;
    END IF;
    IF u.id IS NULL THEN
        PERFORM {dummy}; why := 'unknown user';
    ELSIF u.disabled_at IS NOT NULL THEN
        PERFORM {dummy}; why := 'disabled';
    ELSIF u.locked_until IS NOT NULL AND u.locked_until > now_ THEN
        PERFORM {dummy}; why := 'locked';
    ELSIF stored IS NULL OR stored NOT LIKE '$2%' THEN
        PERFORM {dummy}; why := 'PIN to be set again (monitor user recover)';
    ELSIF p_pin IS NULL OR {c}.crypt(p_pin, stored) <> stored THEN
        why := 'wrong PIN';
        failed := u.failed_pins + 1;
        IF failed >= lock_after THEN
            minutes := CASE WHEN u.role = 'supervisor' AND {PRIVATE}.last_supervisor(u.id)
                THEN lock_min
                ELSE least(lock_min * power(2, least(u.locks, 16))::integer, {LOCK_CAP_MIN})
                END;
            UPDATE public.users SET failed_pins = 0, locks = u.locks + 1,
                locked_until = now_ + make_interval(mins => minutes) WHERE id = u.id;
            why := 'wrong PIN; locked for ' || minutes || ' min';
        ELSE
            UPDATE public.users SET failed_pins = failed WHERE id = u.id;
        END IF;
    END IF;
    IF why IS NOT NULL THEN
        INSERT INTO public.audit_log (at, user_name, action, session_id, entity, entity_id,
            before, after, reason)
        VALUES (now_, NULL, 'auth.refused', NULL, 'user', u.id, NULL,
            json_build_object('name', shown, 'why', why)::text, NULL);
        RETURN NULL;
    END IF;
    IF u.failed_pins <> 0 OR u.locks <> 0 OR u.locked_until IS NOT NULL THEN
        UPDATE public.users SET failed_pins = 0, locks = 0, locked_until = NULL WHERE id = u.id;
    END IF;
    DELETE FROM {PRIVATE}.tokens WHERE expires_at < clock_timestamp();
    token := {c}.gen_random_bytes(24);
    INSERT INTO {PRIVATE}.tokens (digest, user_id, expires_at)
    VALUES (sha256(token), u.id, clock_timestamp() + interval '{TOKEN_HOURS} hours');
    PERFORM {PRIVATE}.add_proof(u.id);
    RETURN encode(token, 'hex');
END $$;

-- The lockout of the rules in force, told by whoever loads them: a proven supervisor.
CREATE FUNCTION {AUTH}.set_lockout(p_after integer, p_min integer) RETURNS void
LANGUAGE plpgsql VOLATILE {definer} AS $$
BEGIN
    IF NOT {AUTH}.privileged() AND NOT {PRIVATE}.proven_supervisor() THEN
        PERFORM {PRIVATE}.refuse('only a supervisor who proved a PIN sets the lockout');
    END IF;
    UPDATE {PRIVATE}.lockout SET
        lock_after = least(greatest(p_after, {lo_after}), {hi_after}),
        lock_min = least(greatest(p_min, {lo_min}), {hi_min})
    WHERE id = 1;
END $$;

-- A token presented: its user joins this transaction's proof.
CREATE FUNCTION {AUTH}.act(p_token text) RETURNS integer LANGUAGE plpgsql VOLATILE {definer}
AS $$
DECLARE uid integer;
BEGIN
    IF p_token IS NULL OR p_token !~ '^[0-9a-f]{{48}}$' THEN
        RAISE EXCEPTION 'monitor: sign in again'
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    SELECT t.user_id INTO uid FROM {PRIVATE}.tokens t JOIN public.users u ON u.id = t.user_id
    WHERE t.digest = sha256(decode(p_token, 'hex')) AND t.expires_at > clock_timestamp()
        AND u.disabled_at IS NULL;
    IF uid IS NULL THEN
        RAISE EXCEPTION 'monitor: sign in again: the sign-in has expired or was withdrawn'
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    PERFORM {PRIVATE}.add_proof(uid);
    RETURN uid;
END $$;

CREATE FUNCTION {AUTH}.sign_out(p_token text) RETURNS void LANGUAGE plpgsql {definer} AS $$
BEGIN
    IF p_token ~ '^[0-9a-f]{{48}}$' THEN
        DELETE FROM {PRIVATE}.tokens WHERE digest = sha256(decode(p_token, 'hex'));
    END IF;
END $$;

-- A user added: by a proven supervisor, the owner, or as the very first user (a supervisor).
CREATE FUNCTION {AUTH}.add_user(p_name text, p_role text, p_pin text,
    p_at timestamptz DEFAULT NULL) RETURNS integer LANGUAGE plpgsql VOLATILE {definer} AS $$
DECLARE uid integer; first_user boolean;
BEGIN
    LOCK TABLE public.users IN SHARE ROW EXCLUSIVE MODE;
    first_user := NOT EXISTS (SELECT 1 FROM public.users);
    IF first_user AND p_role <> 'supervisor' THEN
        PERFORM {PRIVATE}.refuse('the first user of a database must be a supervisor');
    END IF;
    IF NOT first_user AND NOT {AUTH}.privileged() AND NOT {PRIVATE}.proven_supervisor() THEN
        PERFORM {PRIVATE}.refuse('only a supervisor who proved a PIN adds users');
    END IF;
    INSERT INTO public.users (name, role, pin_hash, created_at, failed_pins, locks)
    VALUES (p_name, p_role, '*', {PRIVATE}.moment(p_at), 0, 0) RETURNING id INTO uid;
    INSERT INTO {PRIVATE}.pins (user_id, hash) VALUES (uid, {PRIVATE}.pin_hash(p_pin));
    IF first_user THEN PERFORM {PRIVATE}.add_proof(uid); END IF;
    RETURN uid;
END $$;

-- A PIN set: one's own, or anyone's by a supervisor (both proven), or by the owner.
CREATE FUNCTION {AUTH}.set_pin(p_name text, p_pin text) RETURNS integer LANGUAGE plpgsql
VOLATILE {definer} AS $$
DECLARE uid integer;
BEGIN
    SELECT id INTO uid FROM public.users WHERE name = p_name FOR NO KEY UPDATE;
    IF uid IS NULL THEN PERFORM {PRIVATE}.refuse('no such user'); END IF;
    IF NOT {AUTH}.privileged() AND NOT {PRIVATE}.proven_supervisor()
        AND NOT uid = ANY({AUTH}.proven()) THEN
        PERFORM {PRIVATE}.refuse('a user sets her own PIN; a supervisor sets others''');
    END IF;
    INSERT INTO {PRIVATE}.pins (user_id, hash) VALUES (uid, {PRIVATE}.pin_hash(p_pin))
    ON CONFLICT (user_id) DO UPDATE SET hash = EXCLUDED.hash;
    UPDATE public.users SET failed_pins = 0, locks = 0, locked_until = NULL WHERE id = uid;
    RETURN uid;
END $$;

CREATE FUNCTION {AUTH}.unlock(p_name text) RETURNS integer LANGUAGE plpgsql VOLATILE
{definer} AS $$
DECLARE uid integer;
BEGIN
    IF NOT {AUTH}.privileged() AND NOT {PRIVATE}.proven_supervisor() THEN
        PERFORM {PRIVATE}.refuse('only a supervisor who proved a PIN unlocks a user');
    END IF;
    UPDATE public.users SET failed_pins = 0, locks = 0, locked_until = NULL
    WHERE name = p_name RETURNING id INTO uid;
    RETURN uid;
END $$;

CREATE FUNCTION {AUTH}.disable(p_name text, p_at timestamptz DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql VOLATILE {definer} AS $$
DECLARE u public.users%ROWTYPE;
BEGIN
    IF NOT {AUTH}.privileged() AND NOT {PRIVATE}.proven_supervisor() THEN
        PERFORM {PRIVATE}.refuse('only a supervisor who proved a PIN disables a user');
    END IF;
    LOCK TABLE public.users IN SHARE ROW EXCLUSIVE MODE;
    SELECT * INTO u FROM public.users WHERE name = p_name;
    IF u.id IS NULL THEN RETURN NULL; END IF;
    IF u.role = 'supervisor' AND u.disabled_at IS NULL AND {PRIVATE}.last_supervisor(u.id) THEN
        PERFORM {PRIVATE}.refuse('the last active supervisor cannot be disabled');
    END IF;
    UPDATE public.users SET disabled_at = {PRIVATE}.moment(p_at) WHERE id = u.id;
    DELETE FROM {PRIVATE}.tokens WHERE user_id = u.id;
    RETURN u.id;
END $$;

-- The database owner restores a supervisor: a new PIN, no lock; the owner only.
CREATE FUNCTION {AUTH}.recover(p_name text, p_pin text, p_at timestamptz DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql VOLATILE {definer} AS $$
DECLARE u public.users%ROWTYPE;
BEGIN
    IF NOT {AUTH}.privileged() THEN
        PERFORM {PRIVATE}.refuse('only the database owner recovers a supervisor');
    END IF;
    SELECT * INTO u FROM public.users WHERE name = p_name FOR NO KEY UPDATE;
    IF u.id IS NULL THEN
        RETURN {AUTH}.add_user(p_name, 'supervisor', p_pin, p_at);
    END IF;
    IF u.disabled_at IS NOT NULL THEN
        PERFORM {PRIVATE}.refuse('a disabled user stays disabled: recover a new name');
    END IF;
    UPDATE public.users SET role = 'supervisor' WHERE id = u.id AND role <> 'supervisor';
    RETURN {AUTH}.set_pin(p_name, p_pin);
END $$;

-- Every row a station writes names only proven users, and takes its id from the sequence.
-- Invoker rights: a row written by the definer functions above (current_user is then the
-- owner) is trusted code's.
CREATE FUNCTION {AUTH}.guard_actor() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ids integer[];
    col text;
    new_row jsonb := to_jsonb(NEW);
    old_row jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END;
    value text;
BEGIN
    IF current_user <> session_user OR {AUTH}.privileged() THEN RETURN NEW; END IF;
    ids := {AUTH}.proven();
    IF cardinality(ids) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE = 'monitor: '
            || TG_TABLE_NAME || ' refused: no user proved a PIN to the database in this '
            || 'transaction';
    END IF;
    IF TG_OP = 'INSERT' AND TG_ARGV[0] <> '' AND (new_row ->> 'id')::bigint
        IS DISTINCT FROM currval(TG_ARGV[0]::regclass) THEN
        RAISE EXCEPTION 'monitor: % refused: a row''s id comes from its sequence', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOREACH col IN ARRAY TG_ARGV[1:] LOOP
        value := new_row ->> col;
        CONTINUE WHEN TG_OP = 'UPDATE' AND value IS NOT DISTINCT FROM old_row ->> col;
        IF col = 'user_name' THEN
            IF value IS NULL OR NOT EXISTS (SELECT 1 FROM public.users u
                WHERE u.name = value AND u.id = ANY(ids)) THEN
                RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE =
                    'monitor: an audit row in the name of ' || coalesce(value, 'nobody')
                    || ' refused: that user proved no PIN in this transaction';
            END IF;
        ELSIF value IS NOT NULL AND NOT value::integer = ANY(ids) THEN
            RAISE EXCEPTION 'monitor: %.% names user %, who proved no PIN in this transaction',
                TG_TABLE_NAME, col, value USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    RETURN NEW;
END $$;
"""


#: Every function a station may call (the rest of monitor_auth is EXECUTE too: all are safe).
_AUTH_FUNCTIONS = (
    "privileged()",
    "proven()",
    "sign_in(text, text, integer, integer, timestamptz)",
    "set_lockout(integer, integer)",
    "act(text)",
    "sign_out(text)",
    "add_user(text, text, text, timestamptz)",
    "set_pin(text, text)",
    "unlock(text)",
    "disable(text, timestamptz)",
    "recover(text, text, timestamptz)",
    "guard_actor()",
)


def create_pg_identity(connection: Connection, lockout: tuple[int, int] = (5, 15)) -> None:
    """Migration 0009 on PostgreSQL: the private schema, PINs moved into it (their column on
    ``users`` left holding ``*``), the functions and the actor guard on every table."""
    run = connection.exec_driver_sql
    run(f"CREATE SCHEMA {PRIVATE}")
    run(f"CREATE SCHEMA {AUTH}")
    run(f"REVOKE ALL ON SCHEMA {PRIVATE} FROM PUBLIC")
    run(f"REVOKE ALL ON SCHEMA {AUTH} FROM PUBLIC")
    crypto = crypto_schema(connection)
    run(f"CREATE TABLE {PRIVATE}.secret (id integer PRIMARY KEY CHECK (id = 1), k bytea NOT NULL)")
    run(f"INSERT INTO {PRIVATE}.secret VALUES (1, {crypto}.gen_random_bytes(32))")
    run(
        f"CREATE TABLE {PRIVATE}.lockout (id integer PRIMARY KEY CHECK (id = 1), "
        "lock_after integer NOT NULL, lock_min integer NOT NULL)"
    )
    run(f"INSERT INTO {PRIVATE}.lockout VALUES (1, {int(lockout[0])}, {int(lockout[1])})")
    run(
        f"CREATE TABLE {PRIVATE}.pins (user_id integer PRIMARY KEY REFERENCES public.users(id), "
        "hash text NOT NULL)"
    )
    run(
        f"CREATE TABLE {PRIVATE}.tokens (digest bytea PRIMARY KEY, user_id integer NOT NULL "
        "REFERENCES public.users(id), expires_at timestamptz NOT NULL)"
    )
    # Legacy scrypt hashes move too: the database cannot check them, so those users are
    # refused until the owner's `monitor user recover` (a supervisor) or a supervisor's
    # `user set-pin` gives them a PIN again (README, "Upgrading").
    run(f"INSERT INTO {PRIVATE}.pins (user_id, hash) SELECT id, pin_hash FROM public.users")
    # Moving a hash changes no user's state: no audit row for it.
    run("ALTER TABLE public.users DISABLE TRIGGER users_transitions")
    run("UPDATE public.users SET pin_hash = '*' WHERE pin_hash <> '*'")
    run("ALTER TABLE public.users ENABLE TRIGGER users_transitions")
    pg_run(connection, _functions(crypto))
    run(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {AUTH} FROM PUBLIC")
    run(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {PRIVATE} FROM PUBLIC")
    create_actor_guards(connection, ACTOR_COLUMNS)


def create_actor_guards(connection: Connection, tables: dict[str, tuple[str, ...]]) -> None:
    """The actor guard on each of ``tables`` (with the columns naming a user): a station's row
    names only users who proved a PIN in its transaction (:func:`create_pg_identity`)."""
    for table, columns in tables.items():
        # A version of the rules is numbered by the program (its id is the version).
        sequence = "" if table in NUMBERED else f"public.{table}_id_seq"
        arguments = ", ".join(f"'{a}'" for a in (sequence, *columns))
        connection.exec_driver_sql(
            f"CREATE TRIGGER {table}_guard_actor BEFORE INSERT OR UPDATE ON public.{table} "
            f"FOR EACH ROW EXECUTE FUNCTION {AUTH}.guard_actor({arguments})"
        )


def drop_pg_identity(connection: Connection) -> None:
    """Undo :func:`create_pg_identity` (a downgrade: PIN hashes come back to ``users``)."""
    run = connection.exec_driver_sql
    for table in ACTOR_COLUMNS:
        run(f"DROP TRIGGER IF EXISTS {table}_guard_actor ON public.{table}")
    run(f"UPDATE public.users u SET pin_hash = p.hash FROM {PRIVATE}.pins p WHERE p.user_id = u.id")
    run(f"DROP SCHEMA {AUTH} CASCADE")
    run(f"DROP SCHEMA {PRIVATE} CASCADE")


def grant_pg_identity(connection: Connection, role: str) -> list[str]:
    """What the station role may do with the functions; revoke what it must not do. Returns
    what could not be revoked (the connecting user is not a superuser), for the owner to do."""
    run = connection.exec_driver_sql
    database = run("SELECT current_database()").scalar_one()
    run(f'GRANT USAGE ON SCHEMA {AUTH} TO "{role}"')
    run(f'REVOKE ALL ON SCHEMA {PRIVATE} FROM "{role}"')
    for function in _AUTH_FUNCTIONS:
        run(f'GRANT EXECUTE ON FUNCTION {AUTH}.{function} TO "{role}"')
    # Users change only through the functions; no temporary tables (no shadowing).
    run(f'REVOKE INSERT, UPDATE, DELETE ON public.users FROM "{role}"')
    run(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC')
    run(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM "{role}"')
    run("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    run(f'REVOKE CREATE ON SCHEMA public FROM "{role}"')
    left: list[str] = []
    superuser = run("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar()
    for function in ("pg_terminate_backend(integer, bigint)", "pg_cancel_backend(integer)"):
        statement = f"REVOKE EXECUTE ON FUNCTION pg_catalog.{function} FROM PUBLIC"
        if superuser:
            run(statement)
        else:
            left.append(statement)
    return left
