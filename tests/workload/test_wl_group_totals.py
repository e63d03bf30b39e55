"""Group counters stay monotonic as members come and go, and a reaped child's time is counted once."""

from __future__ import annotations

from otel_mon.host.group_totals import COLUMNS, GroupTotals, Member


def member(group: str, ppid: int, cpu: float, io: float = 0.0, ctx: float = 0.0, reaped: float = 0.0) -> Member:
    """``cpu`` own plus reaped children's ticks, of which ``reaped`` came from children (cutime)."""
    return Member(group, ppid, [cpu, 0.0, 0.0, 0.0, io, 0.0, ctx, 0.0], [reaped, 0.0, 0.0, 0.0, io, 0.0])


def test_an_exited_members_cpu_stays_in_its_group() -> None:
    t = GroupTotals()
    assert t.update({(10, 1): member("web", 1, 100), (11, 1): member("web", 1, 50)})["web"][0] == 150
    # 11 exits (its parent, pid 1, is not tracked): what it used stays; 10 goes on
    assert t.update({(10, 1): member("web", 1, 120)})["web"][0] == 170
    assert t.update({})["web"][0] == 170  # the group is empty, the counter is kept


def test_a_child_reaped_by_a_tracked_parent_is_counted_once() -> None:
    t = GroupTotals()
    t.update({(10, 1): member("web", 1, 100, io=10), (20, 1): member("web", 10, 30, io=5)})
    # the child exits; the parent's cutime and io now include it (plus 2 ticks it used after the last look)
    got = t.update({(10, 1): member("web", 1, 100 + 32, io=15, reaped=32)})
    assert got["web"][0] == 132 and got["web"][4] == 15
    got = t.update({(10, 1): member("web", 1, 140, io=15, reaped=32)})
    assert got["web"][0] == 140


def test_children_no_pass_saw_reach_the_group_through_the_parent() -> None:
    t = GroupTotals()
    t.update({(10, 1): member("batch", 1, 5)})
    assert t.update({(10, 1): member("batch", 1, 5 + 300, reaped=300)})["batch"][0] == 305  # cutime grew by 300


def test_a_parent_that_absorbs_nothing_never_makes_the_counter_go_back() -> None:
    """SIGCHLD ignored: the kernel reaps the child without adding its time to the parent."""
    t = GroupTotals()
    t.update({(10, 1): member("web", 1, 100, ctx=7), (20, 1): member("web", 10, 30, ctx=3)})
    got = t.update({(10, 1): member("web", 1, 100, ctx=8)})
    assert got["web"][0] == 130  # the child's time stays in the base; nothing of the parent's is taken
    got = t.update({(10, 1): member("web", 1, 110, ctx=8)})
    assert got["web"][0] == 140  # the parent's own CPU still counts
    assert got["web"][6] == 7 + 3 + 1  # context switches are not inherited: the child's stay in the base
    assert len(got["web"]) == len(COLUMNS)


def test_a_reused_pid_is_another_process() -> None:
    t = GroupTotals()
    t.update({(10, 1): member("web", 1, 100)})
    assert t.update({(10, 999): member("web", 1, 4)})["web"][0] == 104


def test_members_of_two_groups_across_a_parent_child_edge() -> None:
    t = GroupTotals()
    t.update({(10, 1): member("parent", 1, 10), (20, 1): member("child", 10, 40)})
    got = t.update({(10, 1): member("parent", 1, 50, reaped=40)})  # reaped: 40 moves into the parent's cutime
    assert got["child"][0] == 40 and got["parent"][0] == 10
