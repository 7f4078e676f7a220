"""Handlers that cannot take the dashboard down: an exception becomes an error notification.

Textual quits the app on an exception in any message handler, action or timer callback. For a
dashboard that watches hours-long runs that is the wrong trade: a bad file or a bug in one view
should be reported and the rest keep working. Every handler and action of the dashboard is
wrapped with :func:`guarded`.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from typing import Any


def guarded(method: Callable) -> Callable:
    """Runs a handler of an App, Screen or Widget; an exception is shown with ``app.report_error``."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the dashboard must outlive any one bad update
            report = getattr(self.app, "report_error", None)
            if report is None:
                raise
            report(f"{type(self).__name__}.{method.__name__}: {type(exc).__name__}: {exc}", traceback.format_exc())
            return None

    return wrapper
