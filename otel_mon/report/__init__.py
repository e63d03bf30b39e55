"""``otel-mon report``: figures over a window of the spool (``analysis``) and their presentations (``table``)."""
