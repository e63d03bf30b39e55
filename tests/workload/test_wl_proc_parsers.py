"""The /proc parsers of the process groups' pass, on strings as the kernel writes them."""

from __future__ import annotations

from otel_mon.host.proc_pass import parse_cgroup_unit, parse_io, parse_passwd, parse_stat, parse_status

# A real line of /proc/<pid>/stat (Linux 6.x, 52 fields) with a command holding ") (" and spaces.
STAT = (b"4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1500 3000 7 9 120 30 400 50 20 0 3 0 98765 "
        b"123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n")


def test_stat_fields_after_the_last_parenthesis() -> None:
    st = parse_stat(STAT)
    assert st is not None
    assert (st.pid, st.comm, st.state, st.ppid) == (4242, "my (odd) name", "sleeping", 1)
    assert (st.minflt, st.cminflt, st.majflt, st.cmajflt) == (1500, 3000, 7, 9)
    assert (st.utime, st.stime, st.cutime, st.cstime) == (120, 30, 400, 50)
    assert (st.threads, st.starttime, st.vsize, st.rss) == (3, 98765, 123456789, 2048)


def test_cut_short_or_garbled_stat_lines_are_none() -> None:
    assert parse_stat(b"4242 (name) S 1 2 3") is None
    assert parse_stat(b"4242 name S") is None
    assert parse_stat(STAT.replace(b" 120 ", b" x ")) is None
    assert parse_stat(STAT.replace(b") S ", b") Z "))._replace(pid=0).state == "defunct"  # type: ignore[union-attr]


def test_status_uid_and_context_switches() -> None:
    text = ("Name:\tnginx\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t33\t33\t33\t33\nGid:\t33\t33\t33\t33\n"
            "Threads:\t1\nvoluntary_ctxt_switches:\t1234\nnonvoluntary_ctxt_switches:\t56\n")
    st = parse_status(text)
    assert (st.uid, st.voluntary, st.involuntary) == (33, 1234, 56)


def test_io_uses_storage_bytes_not_rchar() -> None:
    text = ("rchar: 999999\nwchar: 888888\nsyscr: 10\nsyscw: 20\nread_bytes: 4096\nwrite_bytes: 8192\n"
            "cancelled_write_bytes: 0\n")
    assert parse_io(text) == (4096, 8192)


def test_systemd_unit_from_v1_and_v2_cgroup_files() -> None:
    v2 = "0::/system.slice/nginx.service\n"
    v1 = ("12:memory:/system.slice/nginx.service\n1:name=systemd:/system.slice/cron.service\n"
          "0::/system.slice/ignored.service\n")
    user = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-123.scope\n"
    assert parse_cgroup_unit(v2) == "nginx.service"
    assert parse_cgroup_unit(v1) == "cron.service"
    assert parse_cgroup_unit(user) == "app-gnome-firefox-123.scope"
    assert parse_cgroup_unit("0::/\n") == ""
    assert parse_cgroup_unit("0::/docker/0123abcd\n") == ""


def test_passwd_first_name_per_uid() -> None:
    text = ("root:x:0:0:root:/root:/bin/bash\n# comment\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n"
            "toor:x:0:0::/:/bin/sh\n")
    assert parse_passwd(text) == {0: "root", 33: "www-data"}
