"""Rule evaluation on sequences of readings: thresholds, sustain, hysteresis, worst-of, recovery, no data.

The evaluator is pure (time is an argument), so every case is a list of (time, readings) and no clock runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from otel_mon.health import Evaluator, HealthConfig, RuleConfig, State
from otel_mon.health.reading_specs import Readings
from otel_mon.health.rules import Transition

OK, WARN, CRIT = State.OK, State.WARNING, State.CRITICAL


def evaluator(*rules: RuleConfig, default_for: float = 0.0, hysteresis: float = 0.05,
              forget_after: float = 600.0) -> Evaluator:
    return Evaluator(HealthConfig(rules=rules, default_for=default_for,  # type: ignore[arg-type]
                                  default_hysteresis=hysteresis, forget_after=forget_after))  # type: ignore[arg-type]


def run(ev: Evaluator, steps: Sequence[tuple[float, Readings]]) -> list[tuple[float, str, State, State]]:
    out: list[Transition] = []
    for now, readings in steps:
        out += ev.evaluate(readings, now)
    return [(t.at, t.instance, t.old, t.new) for t in out]


def cpu(*values: float, every: float = 10.0) -> list[tuple[float, Readings]]:
    return [(i * every, {"cpu": {"": v}}) for i, v in enumerate(values)]


CPU = RuleConfig(reading="cpu", warning=75, critical=90)


def test_thresholds_rise_and_fall_through_each_state() -> None:
    ev = evaluator(CPU)
    assert run(ev, cpu(50, 80, 95, 80, 50)) == [(10, "", OK, WARN), (20, "", WARN, CRIT), (30, "", CRIT, WARN),
                                                 (40, "", WARN, OK)]


def test_threshold_is_inclusive() -> None:
    assert run(evaluator(CPU), cpu(75))[0][3] == WARN
    assert run(evaluator(CPU), cpu(74.99)) == []


def test_recovery_is_never_stuck_on_warning() -> None:
    """The seed kept warning forever once set; from critical straight to a low value we go straight to ok."""
    ev = evaluator(CPU)
    assert run(ev, cpu(95, 10)) == [(0, "", OK, CRIT), (10, "", CRIT, OK)]
    assert ev.status() == OK


def test_sustain_needs_the_whole_duration_and_restarts_after_a_dip() -> None:
    ev = evaluator(CPU, default_for=120)
    # 95 from t=0; a dip below warning at t=50 restarts the clock; critical only 120 s after t=60
    steps = cpu(95, 95, 95, 95, 95, 50, *[95] * 14)
    assert run(ev, steps) == [(180, "", OK, CRIT)]


def test_sustain_rises_through_warning_when_critical_comes_later() -> None:
    ev = evaluator(CPU, default_for=60)
    steps = cpu(80, 80, 80, 80, 80, 80, 80, 95, 95, 95, 95, 95, 95, 95)
    assert run(ev, steps) == [(60, "", OK, WARN), (130, "", WARN, CRIT)]


def test_a_spike_shorter_than_sustain_never_alerts() -> None:
    ev = evaluator(CPU, default_for=30)
    assert run(ev, cpu(20, 99, 99, 20, 99, 99, 20)) == []


def test_falling_is_immediate_even_with_sustain() -> None:
    ev = evaluator(CPU, default_for=30)
    assert run(ev, cpu(95, 95, 95, 95, 40)) == [(30, "", OK, CRIT), (40, "", CRIT, OK)]


def test_hysteresis_holds_the_state_inside_the_margin() -> None:
    ev = evaluator(CPU, hysteresis=0.05)  # warning clears below 71.25, critical below 85.5
    assert run(ev, cpu(76, 74, 72, 71.3, 71.2)) == [(0, "", OK, WARN), (40, "", WARN, OK)]
    ev = evaluator(CPU, hysteresis=0.05)
    assert run(ev, cpu(91, 89, 86, 85.4)) == [(0, "", OK, CRIT), (30, "", CRIT, WARN)]


def test_a_value_hovering_at_the_threshold_does_not_flap() -> None:
    ev = evaluator(CPU, hysteresis=0.05)
    assert run(ev, cpu(74, 76, 74, 76, 74, 76, 74)) == [(10, "", OK, WARN)]
    no_margin = evaluator(CPU, hysteresis=0.0)
    assert len(run(no_margin, cpu(74, 76, 74, 76, 74, 76, 74))) == 6


def test_rule_hysteresis_and_for_override_the_defaults() -> None:
    rule = RuleConfig(reading="cpu", warning=75, for_=20, hysteresis=0.2)  # type: ignore[arg-type]
    ev = evaluator(rule, default_for=600, hysteresis=0.0)
    assert run(ev, cpu(80, 80, 80, 61, 59)) == [(20, "", OK, WARN), (40, "", WARN, OK)]


def test_host_state_is_the_worst_rule_whatever_the_order() -> None:
    """The seed stopped at the first matching rule; a critical rule listed last must still win."""
    mem = RuleConfig(reading="memory", warning=75, critical=90)
    for rules in ((CPU, mem), (mem, CPU)):
        ev = evaluator(*rules)
        ev.evaluate({"cpu": {"": 80}, "memory": {"": 95}}, 0)
        assert ev.status() == CRIT
        ev.evaluate({"cpu": {"": 80}, "memory": {"": 10}}, 10)
        assert ev.status() == WARN
        ev.evaluate({"cpu": {"": 10}, "memory": {"": 10}}, 20)
        assert ev.status() == OK


def test_each_instance_has_its_own_state() -> None:
    ev = evaluator(RuleConfig(reading="filesystem", warning=80, critical=95))
    steps: list[tuple[float, Readings]] = [
        (0, {"filesystem": {"/": 50, "/data": 96}}),
        (10, {"filesystem": {"/": 85, "/data": 96}}),
        (20, {"filesystem": {"/": 50, "/data": 50}}),
    ]
    assert run(ev, steps) == [(0, "/data", OK, CRIT), (10, "/", OK, WARN), (20, "/", WARN, OK),
                              (20, "/data", CRIT, OK)]
    assert [(r.instance, r.state) for r in ev.rows()] == [("/", OK), ("/data", OK)]


def test_instance_rule_only_watches_its_instance() -> None:
    ev = evaluator(RuleConfig(reading="filesystem", instance="/var/log", warning=50))
    assert run(ev, [(0, {"filesystem": {"/": 99, "/var/log": 60}})]) == [(0, "/var/log", OK, WARN)]


def test_no_data_keeps_the_state_and_never_starts_in_alarm() -> None:
    ev = evaluator(CPU, default_for=20)
    steps: list[tuple[float, Readings]] = [(0, {"cpu": {"": 95}}), (10, {}), (20, {"cpu": {"": 95}}),
                                           (30, {"cpu": {"": 95}}), (40, {"cpu": {"": 95}})]
    # the gap at t=10 restarts the pending rise: critical at 40, not 20
    assert run(ev, steps) == [(40, "", OK, CRIT)]
    assert run(ev, [(50, {}), (60, {})]) == []
    assert ev.status() == CRIT
    row = ev.rows()[0]
    assert row.why.startswith("no data for 20s; last 95 %")


def test_gone_instances_clear_after_forget_after() -> None:
    ev = evaluator(RuleConfig(reading="filesystem", critical=95), forget_after=60)
    run(ev, [(0, {"filesystem": {"/mnt/usb": 99}})])
    assert ev.status() == CRIT
    transitions = ev.evaluate({"filesystem": {}}, 30) + ev.evaluate({"filesystem": {}}, 60)
    assert [(t.instance, t.new, t.why) for t in transitions] == [("/mnt/usb", OK, "no data for 1m")]
    assert ev.status() == OK
    assert [(r.instance, r.why) for r in ev.rows()] == [("", "no data")]


def test_rules_without_data_are_listed_with_no_data() -> None:
    ev = evaluator(RuleConfig(reading="temperature", warning=70), RuleConfig(reading="filesystem",
                                                                              instance="/srv", warning=80))
    ev.evaluate({"filesystem": {"/": 10}}, 0)
    assert [(r.rule, r.instance, r.state, r.value, r.since, r.why) for r in ev.rows()] == [
        ("temperature", "", OK, None, None, "no data"),
        ("filesystem:/srv", "/srv", OK, None, None, "no data"),
    ]
    assert [r.label for r in ev.rows()] == ["no_data", "no_data"]


def test_counter_readings_compare_the_increase() -> None:
    ev = evaluator(RuleConfig(reading="spool.dropped", critical=1))
    steps: list[tuple[float, Readings]] = [(i * 10.0, {"spool.dropped": {"": v}}) for i, v in
                                           enumerate([0, 0, 3, 3, 3, 5, 0])]
    assert run(ev, steps) == [(20, "", OK, CRIT), (30, "", CRIT, OK), (50, "", OK, CRIT)]
    # the restart to 0 at t=60 is a new baseline, not a negative increase: the state is kept
    assert ev.status() == CRIT


def test_transition_carries_value_threshold_and_why() -> None:
    ev = evaluator(CPU, default_for=20)
    (t,) = [t for s in cpu(95, 95, 95) for t in ev.evaluate(s[1], s[0])]
    assert (t.rule, t.reading, t.value, t.threshold) == ("cpu", "cpu", 95, 90)
    assert t.why == "95 % >= critical threshold 90 % for 20s"
    (back,) = ev.evaluate({"cpu": {"": 30}}, 30)
    assert back.threshold == 90 and back.why == "30 % < 85.5 % (clears critical at 90 % minus 5%)"


def test_probe_failure_default_rule_alerts_and_recovers() -> None:
    ev = evaluator(RuleConfig(reading="probe.failure", critical=1))
    steps: list[tuple[float, Readings]] = [(0, {"probe.failure": {"web": 0, "dns": 0}}),
                                           (10, {"probe.failure": {"web": 1, "dns": 0}}),
                                           (20, {"probe.failure": {"web": 0, "dns": 0}})]
    assert run(ev, steps) == [(10, "web", OK, CRIT), (20, "web", CRIT, OK)]


def test_durations_run_on_the_monotonic_clock_when_the_wall_clock_steps_back() -> None:
    """An NTP step back of an hour: sustain and forget_after still elapse on time; since/at keep wall time."""
    cfg = HealthConfig(rules=(RuleConfig(reading="cpu", warning=75, critical=90, for_=20),),  # type: ignore[arg-type]
                       forget_after=60)  # type: ignore[arg-type]
    ev = Evaluator(cfg)
    wall = 1_700_000_000.0
    assert ev.evaluate({"cpu": {"": 95}}, 0, wall) == []
    assert ev.evaluate({"cpu": {"": 95}}, 10, wall - 3600 + 10) == []  # the wall clock jumped back 1 h
    (up,) = ev.evaluate({"cpu": {"": 95}}, 20, wall - 3600 + 20)
    assert (up.old, up.new, up.at) == (State.OK, State.CRITICAL, wall - 3600 + 20)
    assert up.why == "95 % >= critical threshold 90 % for 20s"
    (row,) = ev.rows()
    assert (row.since, row.began) == (wall - 3600 + 20, 20)
    assert ev.evaluate({"cpu": {}}, 79, wall - 7200) == []  # another step back; 59 s without data
    (gone,) = ev.evaluate({"cpu": {}}, 80, wall - 7200 + 1)
    assert (gone.new, gone.why, gone.at) == (State.OK, "no data for 1m", wall - 7200 + 1)


def test_memory_available_rule_is_reached_at_or_below_its_thresholds() -> None:
    """A reading whose low values are the trouble: warning above critical, clearing above by the margin."""
    ev = evaluator(RuleConfig(reading="memory.available", warning=20, critical=10))
    steps: list[tuple[float, Readings]] = [(i * 10.0, {"memory.available": {"": v}}) for i, v in
                                           enumerate([50, 20, 5, 10.4, 12, 20.9, 21.5])]
    # 20 reaches warning (inclusive), 5 critical; 10.4 stays critical inside the margin (clears above 10.5);
    # 12 falls back to warning, 20.9 holds it (clears above 21), 21.5 clears
    assert run(ev, steps) == [(10, "", OK, WARN), (20, "", WARN, CRIT), (40, "", CRIT, WARN), (60, "", WARN, OK)]
    ev = evaluator(RuleConfig(reading="memory.available", critical=10))
    (t,) = ev.evaluate({"memory.available": {"": 8.0}}, 0)
    assert t.why == "8 % <= critical threshold 10 %"
    (back,) = ev.evaluate({"memory.available": {"": 30.0}}, 10)
    assert back.why == "30 % > 10.5 % (clears critical at 10 % plus 5%)"


def test_inodes_rule_watches_each_mountpoint() -> None:
    ev = evaluator(RuleConfig(reading="inodes", warning=80, critical=95))
    steps: list[tuple[float, Readings]] = [(0, {"inodes": {"/": 50.0, "/var": 85.0}}),
                                           (10, {"inodes": {"/": 96.0, "/var": 50.0}})]
    assert run(ev, steps) == [(0, "/var", OK, WARN), (10, "/", OK, CRIT), (10, "/var", WARN, OK)]
