"""Logging filters wired in settings.LOGGING."""

import logging


class QuietClientErrors(logging.Filter):
    """A 4xx answer on `django.request` is one line, never a traceback.

    Django logs a refused permission ("Forbidden (Permission denied)") as a WARNING with the
    PermissionDenied traceback attached: a caseworker opening a page outside their role is
    ordinary, not a fault, so it is logged at INFO without the traceback. Other 4xx keep their
    WARNING level but lose the traceback too. 5xx records pass untouched.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is None or status >= 500:
            return True
        record.exc_info = None
        record.exc_text = None
        if status == 403 and record.levelno > logging.INFO:
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        return True
