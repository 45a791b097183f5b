"""Co-signature in a dialog: a supervisor's name and PIN beside a nurse's own.

A dosing-gate override, a discharge-gate override, and the acknowledgement of a before-dosing
flag or of a serious event's alarm need a clinician (docs/station.md, "Co-signature"): a
supervisor signed in acts alone; a nurse names a supervisor, who types their PIN in the same
dialog. The save (in the dialog's worker) checks the user's PIN, then the co-signer's, then
calls the service with ``cosign=``; the services decide who may co-sign.

A refusal that is the co-signer's (:class:`CosignRefused`) names the field to fix: a co-signer
PIN not accepted empties the co-signer PIN field and puts the cursor there; a co-signer who may
not co-sign (not a supervisor, the user themself) puts it in the co-signer field."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from textual.widget import Widget
from textual.widgets import Label

from monitor.core.review import SUPERVISOR
from monitor.errors import PermissionDenied, PinRefused, Refused
from monitor.views import UserView
from tui.dialogs.refusal import FieldRefusal
from tui.inputs import Input, pin_input

#: The ids of the co-signer's fields in every dialog that asks them.
COSIGNER = "cosigner"
COSIGN_PIN = "cosign-pin"
#: Every widget of the co-signer's rows carries this class (shown only when asked).
COSIGN_CLASS = "cosign"


def asks_cosigner(user: UserView | None) -> bool:
    """``user`` names a co-signer for what needs a clinician (a nurse does, a supervisor not)."""
    return user is not None and user.role != SUPERVISOR


@dataclass(frozen=True)
class CoSign:
    """The supervisor who co-signs, and the PIN they typed."""

    name: str
    pin: str


class CosignRefused(Refused):
    """The co-signer was not accepted; ``field`` is the id of the field to fix."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def cosign_rows(*, wide: bool = False) -> Iterator[Widget]:
    """The two rows of a grid of fields (label, field): ``Co-signer`` and ``Co-signer PIN``;
    ``wide``: the field spans the rest of a four-column grid."""
    field_classes = f"{COSIGN_CLASS} wide" if wide else COSIGN_CLASS
    yield Label("Co-signer", classes=COSIGN_CLASS)
    yield Input(
        placeholder="a supervisor's name: a clinician co-signs this",
        id=COSIGNER,
        compact=True,
        max_length=64,
        classes=field_classes,
    )
    yield Label("Co-signer PIN", classes=COSIGN_CLASS)
    yield pin_input(
        "the supervisor types their PIN", COSIGN_PIN, compact=True, classes=field_classes
    )


def read_cosign(find: Callable[[str], Input]) -> CoSign:
    """The co-signer's name and PIN as typed (``find`` gives a field by id); a blank one is a
    :class:`FieldRefusal` naming it."""
    name = find(COSIGNER).value.strip()
    if not name:
        raise FieldRefusal("a clinician co-signs this: type a supervisor's name", COSIGNER)
    pin = find(COSIGN_PIN).value
    if not pin:
        raise FieldRefusal(f"{name} co-signs: {name} types their PIN", COSIGN_PIN)
    return CoSign(name, pin)


def check_pins(
    authenticate: Callable[[str, str], object], name: str, pin: str | None, cosign: CoSign | None
) -> None:
    """(In the save's worker.) The user's PIN first when one is asked, then the co-signer's;
    a co-signer's PIN not accepted is :class:`CosignRefused` (the co-signer PIN field)."""
    if pin is not None:
        authenticate(name, pin)
    if cosign is not None:
        try:
            authenticate(cosign.name, cosign.pin)
        except PinRefused as error:
            raise CosignRefused(f"co-signer {cosign.name}: {error}", COSIGN_PIN) from error


@contextmanager
def cosigner_blamed() -> Iterator[None]:
    """Around the service call: a permission the services refuse is the co-signer's to fix
    (the user's PIN was accepted just before): who was named may not co-sign, or a clinician
    is needed and none was named."""
    try:
        yield
    except PinRefused:
        raise
    except PermissionDenied as error:
        raise CosignRefused(str(error), COSIGNER) from error
