"""Errors an import reports to the user: a code (translated by the page) and its details."""

from __future__ import annotations


class IngestError(ValueError):
    """A file that cannot be imported as it is. ``code`` keys the message in analytics.display.i18n
    (``ingest_<code>``); ``params`` fill it in."""

    def __init__(self, code: str, **params: object):
        self.code, self.params = code, params
        super().__init__(f"{code}: {params}" if params else code)
