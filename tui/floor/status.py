"""The floor's status lines: how old the data is, an outage, the last error, the clock's offset.

After 10 s without a successful load the station says, in red, how old its data is; a station
clock more than 30 s off the database's is flagged (docs/clinical.md, "Times")."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

#: After this long without a successful load the station says, in red, how old its data is.
STALE_AFTER_SECONDS = 10.0
#: A station clock further than this from the database's is flagged (docs/clinical.md, "Times").
CLOCK_TOLERANCE_SECONDS = 30.0


def age_text(seconds: float) -> str:
    """``25 s``, ``3 min 10 s``, ``2 h 05 min``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def stale_text(age: float, since: datetime, loaded: bool) -> str | None:
    """What the red data age says once no load has succeeded for 10 s (None: still fresh)."""
    if age <= STALE_AFTER_SECONDS:
        return None
    if loaded:
        return f" DATA {age_text(age)} OLD (loaded {since.astimezone():%H:%M:%S}) "
    return f" NO DATA LOADED FOR {age_text(age)} "


def status_text(
    stale: str | None,
    outage_since: datetime | None,
    fresh_at: datetime | None,
    last_error: str | None,
) -> Text:
    """The red line under the header: how old the data is once stale, and the last error."""
    text = Text()
    if stale:
        text.append(stale, style="bold white on red")
    if outage_since is not None:
        since = f"database unreachable since {outage_since.astimezone():%H:%M:%S}"
        if stale:  # the red data age already says when the data is from
            text.append(since, style="bold red")
        elif fresh_at:
            shown = f"{fresh_at.astimezone():%H:%M:%S}"
            text.append(f"{since} \N{EM DASH} showing data from {shown}", style="bold red")
        else:
            text.append(f"{since} \N{EM DASH} no data loaded yet", style="bold red")
    if last_error:
        if text:
            text.append("  ")
        text.append(last_error, style="bold red")
    return text


def clock_warning(offset: float | None) -> Text | None:
    """What the station says when its clock is off the database's (None: it is not)."""
    if offset is None or abs(offset) <= CLOCK_TOLERANCE_SECONDS:
        return None
    way = "behind" if offset > 0 else "ahead of"
    return Text(
        f"Clock {age_text(abs(offset))} {way} the database's: countdowns may be off; have it set",
        style="bold black on yellow",
    )


class StatusLine(Static):
    """The red line under the header. The app sets what it knows (attributes down): the data
    age once stale, when an outage began, the last error; :meth:`show` draws it."""

    def __init__(self) -> None:
        super().__init__(id="status")
        #: The red data age (None: the data is fresh).
        self.stale: str | None = None
        #: When the database was first found unreachable in the outage going on, if any.
        self.outage_since: datetime | None = None
        self.last_error: str | None = None

    def show(self, fresh_at: datetime | None) -> None:
        """Draw the line (hidden when it has nothing to say)."""
        text = status_text(self.stale, self.outage_since, fresh_at, self.last_error)
        self.update(text)
        self.display = bool(text)


class ClockWarning(Static):
    """The yellow line that says the station's clock is off the database's."""

    def __init__(self) -> None:
        super().__init__(id="clock-warning")

    def show(self, offset: float | None) -> None:
        """Say so when ``offset`` (seconds the database is ahead) is off; hide otherwise."""
        text = clock_warning(offset)
        if text is not None:
            self.update(text)
        self.display = text is not None
