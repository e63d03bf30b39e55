"""OTLP forwarding of the spool (store-and-forward): settings, the forwarder, and its senders."""

from otel_mon.forward.config import OtlpConfig, SignalOverride, Target, otlp_from_env, resolve
from otel_mon.forward.forwarder import Forwarder

__all__ = ["Forwarder", "OtlpConfig", "SignalOverride", "Target", "otlp_from_env", "resolve"]
