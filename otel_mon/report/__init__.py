"""``otel-mon report``: figures over a window of the spool (``analysis``), shown as ``text`` or ``html``."""
