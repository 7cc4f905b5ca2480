"""Child processes that never outlive their parent."""

from __future__ import annotations

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1
# Looked up once here, not in the forked child, where taking the loader's lock could deadlock.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this process when its parent dies (``preexec_fn`` helper).

    ``doudesk serve`` and the end-to-end tests start workers in their own sessions so a terminal's
    Ctrl-C reaches only the parent; without this, a parent killed outright would leave them running.
    Elsewhere than Linux it does nothing.
    """
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
