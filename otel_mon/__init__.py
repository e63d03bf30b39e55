"""otel-mon: an OpenTelemetry-native host monitoring agent."""

__version__ = "0.1.0"
