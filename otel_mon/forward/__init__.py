"""OTLP forwarding of the spool (store-and-forward): settings, the forwarder, and its senders."""

from typing import TYPE_CHECKING

from otel_mon import lazy

if TYPE_CHECKING:
    from otel_mon.forward.config import OtlpConfig, Target, Transport, resolve
    from otel_mon.forward.forwarder import Forwarder
    from otel_mon.forward.otlp_env import otlp_from_env

__getattr__ = lazy.exports(__name__, {
    "OtlpConfig": "config",
    "Transport": "config",
    "Target": "config",
    "otlp_from_env": "otlp_env",
    "resolve": "config",
    "Forwarder": "forwarder",
})

__all__ = ["Forwarder", "OtlpConfig", "Target", "Transport", "otlp_from_env", "resolve"]
