"""Every style sheet of the station is read once, at start-up (issue #18: CSS in .tcss files
next to the screens). A sheet first read when its screen opened made Textual parse every sheet
again and restyle the whole app: a 40-100 ms pause of the station."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

from textual.screen import Screen

import tui
from tui.app import StationApp

TUI = Path(tui.__file__).parent


def screens() -> list[type[Screen]]:
    found = []
    for module in pkgutil.walk_packages([str(TUI)], "tui."):
        if module.name in ("tui.launch", "tui.serve", "tui.__main__"):
            continue
        for _, value in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if issubclass(value, Screen) and value.__module__.startswith("tui."):
                found.append(value)
    return found


def test_the_station_reads_every_sheet_of_the_tui_at_start_up():
    read = {Path(path) for path in StationApp.CSS_PATH}
    assert read == set(TUI.rglob("*.tcss"))


def test_every_screen_names_a_sheet_the_station_reads():
    read = {Path(path) for path in StationApp.CSS_PATH}
    assert len(screens()) > 20
    for screen in screens():
        paths = screen.CSS_PATH if isinstance(screen.CSS_PATH, list) else [screen.CSS_PATH]
        for path in paths:
            if path is not None:
                assert Path(path) in read, (screen, path)
