"""Takes the README's screenshot: the demo clinic on the station, 80x24, taken by the app.

python docs/screenshot.py    # docs/station.svg, and docs/station.png with rsvg-convert
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from monitor.demo import build_demo  # noqa: E402
from monitor.services import Service  # noqa: E402
from tui.app import make_app  # noqa: E402


async def main() -> None:
    db = str(Path(tempfile.mkdtemp(prefix="monitor-shot-")) / "demo.db")
    service = Service.open(db)
    build_demo(service)
    app = make_app(service=service, flash=False, bell=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*"ana", "enter", *"1111", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.clear_notifications()
        await pilot.press("down", "r", *"186/104 hr 95 spo2 96 moaas 4")
        await pilot.pause()
        app.save_screenshot(filename="station.svg", path=str(HERE))
    if shutil.which("rsvg-convert"):
        svg, png = HERE / "station.svg", HERE / "station.png"
        subprocess.run(["rsvg-convert", "-w", "960", str(svg), "-o", str(png)], check=True)


if __name__ == "__main__":
    asyncio.run(main())
