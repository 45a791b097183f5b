"""Every PIN a user gives is hashed at full cost; only a test's set-up stores a cheaper one
(tests/conftest.py, ``cheap_pins``; docs/architecture.md, "Cheap set-ups").

A cheap hash must not be creatable through any command or the station: what they store is
checked here on both backends, through the services, the command line in this process (where
a set-up's cheap hashing would show if it leaked) and a real ``monitor`` process.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import inspect
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor import pins
from monitor.errors import PermissionDenied
from monitor.services import Service
from monitor.store.identity import BCRYPT_COST
from tests.cli.test_cli import Cli
from tests.conftest import SETUP_PIN_N

ROOT = Path(__file__).resolve().parents[2]
#: What every PIN a user gives is stored as: scrypt N=2**14 on SQLite, bcrypt on PostgreSQL.
FULL = {"sqlite": f"scrypt-hmac${2**14}$8$1$", "postgresql": f"$2a$0{BCRYPT_COST}$"}


def stored(service) -> dict[str, str]:
    """Each user's stored PIN hash (PostgreSQL keeps them where only its owner reads)."""
    query = (
        "SELECT u.name, p.hash FROM users u JOIN monitor_private.pins p ON p.user_id = u.id"
        if service.engine.dialect.name == "postgresql"
        else "SELECT name, pin_hash FROM users"
    )
    with service.engine.connect() as connection:
        return {name: value for name, value in connection.execute(text(query))}


def test_every_pin_given_through_the_services_is_hashed_at_full_cost(service):
    full = FULL[service.engine.dialect.name]
    service.add_user("cy", "nurse", "3456", by="sam")
    service.set_pin("ana", "4321", by="ana")  # her own
    service.set_pin("bo", "5432", by="sam")  # a supervisor's
    service.recover_user("sam", "8888")  # an existing supervisor
    service.recover_user("di", "7777")  # a new one
    hashes = stored(service)
    for name in ("cy", "ana", "bo", "sam", "di"):
        assert hashes[name].startswith(full), (name, hashes[name])
    for name, pin in (("cy", "3456"), ("ana", "4321"), ("bo", "5432"), ("di", "7777")):
        assert service.authenticate(name, pin).name == name


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_pin_hashed_before_the_clinics_secret_is_made_again_at_full_cost(service):
    """The hash a sign-in makes again (the only hash a station makes) has the full cost too."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(b"2345", salt=salt, n=2**10, r=8, p=1, dklen=32)
    with service.engine.begin() as connection:
        connection.execute(
            text("UPDATE users SET pin_hash = :h WHERE name = 'bo'"),
            {"h": f"scrypt${2**10}$8$1${salt.hex()}${digest.hex()}"},
        )
    assert service.authenticate("bo", "2345").name == "bo"
    assert stored(service)["bo"].startswith(FULL["sqlite"])


def test_every_pin_given_through_the_command_line_is_hashed_at_full_cost(db_url):
    run = Cli(db_url)
    run("user", "add", "sam", "--role", "supervisor", "--pin-stdin", stdin="9999\n9999\n")
    run("user", "add", "ana", "--role", "nurse", "--by", "sam", "--pin-stdin", stdin="1234\n1234\n")
    run("user", "set-pin", "ana", "--by", "ana", "--pin-stdin", stdin="4321\n4321\n1234\n")
    run("user", "recover", "di", "--pin-stdin", stdin="7777\n7777\n")
    # A real process too: nothing of this test process's set-ups there.
    run("user", "add", "bo", "--role", "nurse", "--by", "sam", "--pin-stdin", process=True,
        stdin="2345\n2345\n")  # fmt: skip
    service = Service.open(db_url)
    try:
        hashes = stored(service)
    finally:
        service.close()
    full = FULL["sqlite" if db_url.startswith("sqlite") else "postgresql"]
    assert set(hashes) == {"sam", "ana", "di", "bo"}
    for name, value in hashes.items():
        assert value.startswith(full), (name, value)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_only_the_set_up_users_pins_are_cheaper_and_they_are_checked_the_same_way(service):
    hashes = stored(service)
    for name in ("sam", "ana", "bo"):
        assert hashes[name].startswith(f"scrypt-hmac${SETUP_PIN_N}$8$1$"), hashes[name]
    assert service.authenticate("ana", "1234").name == "ana"
    with pytest.raises(PermissionDenied):
        service.authenticate("ana", "0000")


def test_no_code_but_monitor_pins_chooses_a_pin_hash_cost():
    """New hashes take their cost from monitor.pins alone: no parameter, setting or other
    module can ask for another; a stored hash may name a cost only within bounds."""
    assert list(inspect.signature(pins.hash_pin).parameters) == ["pin", "secret"]
    for path in [*(ROOT / "monitor").rglob("*.py"), *(ROOT / "tui").rglob("*.py")]:
        if path == ROOT / "monitor" / "pins.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("_N", "_R", "_P", "scrypt"), (path, node.lineno)
            if isinstance(node, ast.alias):
                assert node.name not in ("_N", "_R", "_P", "scrypt", "_scrypt"), path
    assert pins.hash_pin("1234", b"k" * 32).startswith(FULL["sqlite"])
    # A stored hash cheaper than the least a set-up uses is never accepted.
    salt = os.urandom(16)
    keyed = hmac.new(b"k" * 32, b"1234", hashlib.sha256).digest()
    cheap = hashlib.scrypt(keyed, salt=salt, n=2**9, r=8, p=1, dklen=32)
    forged = f"scrypt-hmac${2**9}$8$1${salt.hex()}${cheap.hex()}"
    assert not pins.verify_pin("1234", forged, b"k" * 32)
