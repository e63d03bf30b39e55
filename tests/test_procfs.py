from otel_mon.host.procfs import (
    parse_key_int,
    parse_loadavg,
    parse_mounts,
    parse_os_release,
    parse_statm,
    parse_status_threads,
    parse_uptime,
)


def test_mounts_unescape_octal_and_split_options() -> None:
    mounts = parse_mounts("/dev/sda1 /mnt/my\\040disk ext4 ro,relatime 0 0\nshort line\n")
    assert len(mounts) == 1
    assert mounts[0].mountpoint == "/mnt/my disk"
    assert mounts[0].options == ("ro", "relatime")
    assert mounts[0].fstype == "ext4"


def test_loadavg_and_uptime() -> None:
    assert parse_loadavg("0.50 0.75 1.00 2/345 6789\n") == (0.5, 0.75, 1.0)
    assert parse_uptime("12345.67 20000.00\n") == 12345.67


def test_key_int_keeps_only_the_asked_keys() -> None:
    text = "pswpin 1\npswpout 2\npgfault 30 extra\nother 9\n"
    assert parse_key_int(text, frozenset({"pswpin", "pgfault"})) == {"pswpin": 1, "pgfault": 30}


def test_statm_threads_and_os_release() -> None:
    assert parse_statm("100 25 3 4 0 5 0", 4096) == (409600, 102400)
    assert parse_status_threads("Name:\tx\nThreads:\t7\n") == 7
    assert parse_os_release('NAME="Fake"\n# c\nPRETTY_NAME=\'Fake 1\'\n') == {"NAME": "Fake", "PRETTY_NAME": "Fake 1"}


def test_key_int_ignores_longer_keys_ending_the_same() -> None:
    text = "nr_pswpin 5\npswpin 7\nxpgfault 1\npgfault 30\n"
    assert parse_key_int(text, frozenset({"pswpin", "pgfault", "absent"})) == {"pswpin": 7, "pgfault": 30}
    assert parse_key_int("pswpin 3", frozenset({"pswpin"})) == {"pswpin": 3}  # no trailing newline
