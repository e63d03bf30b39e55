"""OTLP forwarding of the spool (store-and-forward): settings, the forwarder, and its senders."""

from typing import TYPE_CHECKING

from otel_mon import lazy

if TYPE_CHECKING:
    from otel_mon.forward.config import OtlpConfig, SignalOverride, Target, otlp_from_env, resolve
    from otel_mon.forward.forwarder import Forwarder

__getattr__ = lazy.exports(__name__, {
    "OtlpConfig": "config",
    "SignalOverride": "config",
    "Target": "config",
    "otlp_from_env": "config",
    "resolve": "config",
    "Forwarder": "forwarder",
})

__all__ = ["Forwarder", "OtlpConfig", "SignalOverride", "Target", "otlp_from_env", "resolve"]
