"""Commands loaded when they are used (click's documented lazy-group pattern).

A group names its commands by ``"module:attribute"`` strings; a command's module is imported
only when that command runs or a ``--help`` lists it, so that ``monitor record`` imports
``record``'s module alone and ``monitor --help`` nothing heavier than click (the command
modules import their services inside each command).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click


def load(reference: str) -> Any:
    """The attribute a ``"module:attribute"`` string names, its module imported."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


class LazyGroup(click.Group):
    """A group whose commands are ``"module:attribute"`` strings, loaded on first use."""

    def __init__(
        self, *args: Any, lazy_commands: Mapping[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        #: Command name -> ``"module:attribute"`` of its click command.
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        reference = self.lazy_commands.get(cmd_name)
        if reference is None:
            return super().get_command(ctx, cmd_name)
        command = load(reference)
        if not isinstance(command, click.Command):
            raise TypeError(f"{reference} is not a click command")
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as error:
            # click (8.4 on) suggests close names from the commands it holds: add ours.
            no_such = getattr(click.exceptions, "NoSuchCommand", None)
            if no_such is None or not isinstance(error, no_such):
                raise
            names = self.list_commands(ctx)
            raise no_such(error.command_name, possibilities=names, ctx=ctx) from None
