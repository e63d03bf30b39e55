"""The live status page: an in-memory ring of the last hour, a JSON endpoint and the page's static files."""

from otel_mon.web.history import History
from otel_mon.web.page import PUBLIC, StatusPage

__all__ = ["PUBLIC", "History", "StatusPage"]
