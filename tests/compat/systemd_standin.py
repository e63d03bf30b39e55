"""A stand-in for systemd's D-Bus API on a real dbus-daemon (PID 1 here is not systemd).

Serves what systemd documents for org.freedesktop.systemd1 (Manager.ListUnits, the Manager's SystemState and
each Service's NRestarts through org.freedesktop.DBus.Properties.Get) for the units given as JSON; with
``--silent`` it owns the name and never answers (the hung D-Bus of node_exporter #1535).
Usage: python systemd_standin.py ADDRESS UNITS_JSON [--silent]
"""

from __future__ import annotations

import json
import sys

from jeepney import HeaderFields, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection


def main(address: str, units_file: str, silent: bool) -> None:
    conn = open_dbus_connection(address)
    conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.systemd1"))
    print("ready", flush=True)
    while True:
        msg = conn.receive()
        if msg.header.message_type != MessageType.method_call or silent:
            continue
        with open(units_file) as f:  # re-read each call: the test changes states while the agent runs
            doc = json.load(f)
        member = msg.header.fields.get(HeaderFields.member)
        path = msg.header.fields.get(HeaderFields.path)
        if member == "ListUnits":
            rows = [(u["name"], u["name"], "loaded", u["state"], "running" if u["state"] == "active" else "dead",
                     "", f"/org/freedesktop/systemd1/unit/{i}", 0, "", "/") for i, u in enumerate(doc["units"])]
            conn.send(new_method_return(msg, "a(ssssssouso)", (rows,)))
        elif member == "Get":
            _iface, prop = msg.body
            if prop == "SystemState":
                conn.send(new_method_return(msg, "v", (("s", doc["system_state"]),)))
            elif prop == "NRestarts":
                unit = doc["units"][int(str(path).rsplit("/", 1)[1])]
                conn.send(new_method_return(msg, "v", (("u", unit.get("restarts", 0)),)))
            else:
                conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownProperty", "s", (prop,)))
        else:
            conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (str(member),)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--silent" in sys.argv[3:])
