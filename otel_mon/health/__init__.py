"""Health: rules turn readings into ok / warning / critical states; transitions become logs, metrics,
webhook notifications and (opt-in) actions."""

from typing import TYPE_CHECKING

from otel_mon import lazy

if TYPE_CHECKING:
    from otel_mon.health.config import DEFAULT_RULES, ActionConfig, HealthConfig, NotifierConfig, RuleConfig, validate
    from otel_mon.health.evaluator import Evaluator
    from otel_mon.health.monitor import HealthMonitor
    from otel_mon.health.reading_specs import READINGS, Readings
    from otel_mon.health.rules import State, Transition

__getattr__ = lazy.exports(__name__, {
    "DEFAULT_RULES": "config",
    "ActionConfig": "config",
    "HealthConfig": "config",
    "NotifierConfig": "config",
    "RuleConfig": "config",
    "validate": "config",
    "Evaluator": "evaluator",
    "HealthMonitor": "monitor",
    "READINGS": "reading_specs",
    "Readings": "reading_specs",
    "State": "rules",
    "Transition": "rules",
})

__all__ = ["DEFAULT_RULES", "READINGS", "ActionConfig", "Evaluator", "HealthConfig", "HealthMonitor",
           "NotifierConfig", "Readings", "RuleConfig", "State", "Transition", "validate"]
