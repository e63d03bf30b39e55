"""Health: rules turn readings into ok / warning / critical states; transitions become logs, metrics,
webhook notifications and (opt-in) actions."""

from otel_mon.health.config import (
    DEFAULT_RULES,
    ActionConfig,
    HealthConfig,
    NotifierConfig,
    RuleConfig,
    validate,
)
from otel_mon.health.evaluator import Evaluator
from otel_mon.health.monitor import HealthMonitor
from otel_mon.health.readings import READINGS, Readings
from otel_mon.health.rules import State, Transition

__all__ = ["DEFAULT_RULES", "READINGS", "ActionConfig", "Evaluator", "HealthConfig", "HealthMonitor",
           "NotifierConfig", "Readings", "RuleConfig", "State", "Transition", "validate"]
