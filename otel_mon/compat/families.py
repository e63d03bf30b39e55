"""node_exporter's families the agent serves, each with the reading it comes from: the mapping table.

Data, not code: ``node_exporter.py`` renders only families declared here (a test holds it to that), and
``docgen`` writes docs/node-exporter-mapping.md from this table, both ways, with the families of node_exporter
1.12.1's default collectors the agent does not produce and why. Names, types, label names and label values
are node_exporter's (facts of its exposition format, checked against a real node_exporter 1.12.1 in
tests/compat/test_node_exporter_side_by_side.py).
"""

from __future__ import annotations

from dataclasses import dataclass

# node_exporter's own build is refused by the Go module proxy from 1.13.0 on: 1.12.1 is what the tests compare
# against (the families below are the same in 1.13's changelog for these collectors).
NODE_EXPORTER_VERSION = "1.12.1"


@dataclass(frozen=True)
class Family:
    """One node_exporter family: its name (``<field>`` marks a family per source field), type, labels, the
    node_exporter collector that produces it, the agent's reading it is rendered from, and how."""

    name: str
    kind: str  # counter | gauge | untyped, as node_exporter declares it
    labels: tuple[str, ...]
    collector: str
    source: str  # the agent's metric (OTel name) or, for node_exporter-only detail, the source the domain read
    how: str = ""
    help: str = ""

    @property
    def pattern(self) -> bool:
        return "<" in self.name


F = Family
_DISK = ("device",)
_FS = ("device", "device_error", "fstype", "mountpoint")
FAMILIES: tuple[Family, ...] = (
    F("node_cpu_seconds_total", "counter", ("cpu", "mode"), "cpu", "system.cpu.time",
      "the same per-CPU read (/proc/stat via psutil), irq and softirq apart (semconv folds softirq into "
      "interrupt), whether or not cpu.per_logical is on", "Seconds the CPUs spent in each mode."),
    F("node_cpu_guest_seconds_total", "counter", ("cpu", "mode"), "cpu", "/proc/stat guest, guest_nice",
      "the same per-CPU read; mode user (guest) and nice (guest_nice)",
      "Seconds the CPUs spent in guests (VMs) for each mode."),
    F("node_cpu_scaling_frequency_hertz", "gauge", ("cpu",), "cpufreq", "system.cpu.frequency",
      "scaling_cur_freq per CPU", "Current scaled CPU thread frequency in hertz."),
    F("node_disk_reads_completed_total", "counter", _DISK, "diskstats", "system.disk.operations",
      "disk.io.direction=read", "The total number of reads completed successfully."),
    F("node_disk_writes_completed_total", "counter", _DISK, "diskstats", "system.disk.operations",
      "disk.io.direction=write", "The total number of writes completed successfully."),
    F("node_disk_reads_merged_total", "counter", _DISK, "diskstats", "system.disk.merged",
      "disk.io.direction=read", "The total number of reads merged."),
    F("node_disk_writes_merged_total", "counter", _DISK, "diskstats", "system.disk.merged",
      "disk.io.direction=write", "The number of writes merged."),
    F("node_disk_read_bytes_total", "counter", _DISK, "diskstats", "system.disk.io",
      "disk.io.direction=read", "The total number of bytes read successfully."),
    F("node_disk_written_bytes_total", "counter", _DISK, "diskstats", "system.disk.io",
      "disk.io.direction=write", "The total number of bytes written successfully."),
    F("node_disk_read_time_seconds_total", "counter", _DISK, "diskstats", "system.disk.operation_time",
      "disk.io.direction=read", "The total number of seconds spent by all reads."),
    F("node_disk_write_time_seconds_total", "counter", _DISK, "diskstats", "system.disk.operation_time",
      "disk.io.direction=write", "This is the total number of seconds spent by all writes."),
    F("node_disk_io_now", "gauge", _DISK, "diskstats", "system.disk.pending_operations", "",
      "The number of I/Os currently in progress."),
    F("node_disk_io_time_seconds_total", "counter", _DISK, "diskstats", "system.disk.io_time", "",
      "Total seconds spent doing I/Os."),
    F("node_disk_io_time_weighted_seconds_total", "counter", _DISK, "diskstats", "system.disk.weighted_io_time",
      "", "The weighted # of seconds spent doing I/Os."),
    F("node_filesystem_size_bytes", "gauge", _FS, "filesystem", "system.filesystem.limit", "",
      "Filesystem size in bytes."),
    F("node_filesystem_free_bytes", "gauge", _FS, "filesystem", "system.filesystem.usage",
      "state free + reserved (statfs f_bfree)", "Filesystem free space in bytes."),
    F("node_filesystem_avail_bytes", "gauge", _FS, "filesystem", "system.filesystem.usage",
      "state free (statfs f_bavail: free to unprivileged users)",
      "Filesystem space available to non-root users in bytes."),
    F("node_filesystem_files", "gauge", _FS, "filesystem", "system.filesystem.inodes.usage",
      "state used + free (statfs f_files)", "Filesystem total file nodes."),
    F("node_filesystem_files_free", "gauge", _FS, "filesystem", "system.filesystem.inodes.usage",
      "state free (statfs f_ffree)", "Filesystem total free file nodes."),
    F("node_filesystem_readonly", "gauge", _FS, "filesystem", "system.filesystem.limit",
      "1 when system.filesystem.mode is ro", "Filesystem read-only status."),
    F("node_filesystem_device_error", "gauge", _FS, "filesystem", "system.filesystem.limit",
      "0 for every mount the agent stated (a mount that failed has no series)",
      "Whether an error occurred while getting statistics for the given device."),
    F("node_load1", "gauge", (), "loadavg", "system.cpu.load_average.1m", "", "1m load average."),
    F("node_load5", "gauge", (), "loadavg", "system.cpu.load_average.5m", "", "5m load average."),
    F("node_load15", "gauge", (), "loadavg", "system.cpu.load_average.15m", "", "15m load average."),
    F("node_memory_<field>_bytes", "gauge", (), "meminfo", "/proc/meminfo (the memory domain's read)",
      "every field in kB, in bytes; Active(anon) becomes Active_anon. MemTotal is system.memory.limit, "
      "MemAvailable system.memory.linux.available, MemFree system.memory.usage{state=free}",
      "Memory information field <field>_bytes."),
    F("node_memory_<field>", "gauge", (), "meminfo", "/proc/meminfo (the memory domain's read)",
      "the unit-less fields (HugePages_Total, _Free, _Rsvd, _Surp)", "Memory information field <field>."),
    F("node_network_receive_bytes_total", "counter", _DISK, "netdev", "system.network.io",
      "network.io.direction=receive", "Network device statistic receive_bytes."),
    F("node_network_transmit_bytes_total", "counter", _DISK, "netdev", "system.network.io",
      "network.io.direction=transmit", "Network device statistic transmit_bytes."),
    F("node_network_receive_packets_total", "counter", _DISK, "netdev", "system.network.packet.count",
      "network.io.direction=receive", "Network device statistic receive_packets."),
    F("node_network_transmit_packets_total", "counter", _DISK, "netdev", "system.network.packet.count",
      "network.io.direction=transmit", "Network device statistic transmit_packets."),
    F("node_network_receive_errs_total", "counter", _DISK, "netdev", "system.network.errors",
      "network.io.direction=receive", "Network device statistic receive_errs."),
    F("node_network_transmit_errs_total", "counter", _DISK, "netdev", "system.network.errors",
      "network.io.direction=transmit", "Network device statistic transmit_errs."),
    F("node_network_receive_drop_total", "counter", _DISK, "netdev", "system.network.packet.dropped",
      "network.io.direction=receive", "Network device statistic receive_drop."),
    F("node_network_transmit_drop_total", "counter", _DISK, "netdev", "system.network.packet.dropped",
      "network.io.direction=transmit", "Network device statistic transmit_drop."),
    F("node_boot_time_seconds", "gauge", (), "stat", "/proc/stat btime (the processes domain's read)", "",
      "Node boot time, in unixtime."),
    F("node_context_switches_total", "counter", (), "stat", "/proc/stat ctxt", "",
      "Total number of context switches."),
    F("node_forks_total", "counter", (), "stat", "system.process.created", "/proc/stat processes",
      "Total number of forks."),
    F("node_intr_total", "counter", (), "stat", "/proc/stat intr", "the first (total) column",
      "Total number of interrupts serviced."),
    F("node_procs_running", "gauge", (), "stat", "/proc/stat procs_running", "",
      "Number of processes in runnable state."),
    F("node_procs_blocked", "gauge", (), "stat", "/proc/stat procs_blocked", "",
      "Number of processes blocked waiting for I/O to complete."),
    F("node_time_seconds", "gauge", (), "time", "the snapshot's time", "when the collection read the host",
      "System time in seconds since epoch (1970)."),
    F("node_time_zone_offset_seconds", "gauge", ("time_zone",), "time", "the agent's local time zone", "",
      "System time zone offset in seconds."),
    F("node_uname_info", "gauge", ("domainname", "machine", "nodename", "release", "sysname", "version"),
      "uname", "uname(2), once at start", "", "Labeled system information as provided by the uname system call."),
    F("node_os_info", "gauge", ("build_id", "id", "id_like", "image_id", "image_version", "name", "pretty_name",
                                "variant", "variant_id", "version", "version_codename", "version_id"),
      "os", "os-release under root_path, once at start (as the resource's os.* attributes)", "",
      "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, "
      "pretty_name, variant, variant_id, version, version_codename, version_id."),
    F("node_os_version", "gauge", ("id", "id_like", "name"), "os", "os-release VERSION_ID", "as a number",
      "Metric containing the major.minor part of the OS version."),
    F("node_vmstat_<field>", "untyped", (), "vmstat", "/proc/vmstat (the paging domain's read)",
      "node_exporter's default fields: oom_kill, pgfault, pgmajfault, pgpgin, pgpgout, pswpin, pswpout; "
      "pgfault and pgmajfault are system.paging.faults (minor = pgfault - pgmajfault), pswpin/pswpout "
      "system.paging.operations, oom_kill otel_mon.host.oom_kills",
      "/proc/vmstat information field <field>."),
    F("node_pressure_cpu_waiting_seconds_total", "counter", (), "pressure", "otel_mon.host.pressure.stall_time",
      "resource cpu, stall_type some", "Total time in seconds that processes have waited for CPU time"),
    F("node_pressure_io_waiting_seconds_total", "counter", (), "pressure", "otel_mon.host.pressure.stall_time",
      "resource io, stall_type some", "Total time in seconds that processes have waited due to IO congestion"),
    F("node_pressure_io_stalled_seconds_total", "counter", (), "pressure", "otel_mon.host.pressure.stall_time",
      "resource io, stall_type full", "Total time in seconds no process could make progress due to IO congestion"),
    F("node_pressure_memory_waiting_seconds_total", "counter", (), "pressure", "otel_mon.host.pressure.stall_time",
      "resource memory, stall_type some", "Total time in seconds that processes have waited for memory"),
    F("node_pressure_memory_stalled_seconds_total", "counter", (), "pressure", "otel_mon.host.pressure.stall_time",
      "resource memory, stall_type full",
      "Total time in seconds no process could make progress due to memory congestion"),
    F("node_filefd_allocated", "gauge", (), "filefd", "otel_mon.host.file_descriptor.count",
      "file-nr allocated - unused (unused is 0 since Linux 2.6)", "File descriptor statistics: allocated."),
    F("node_filefd_maximum", "gauge", (), "filefd", "otel_mon.host.file_descriptor.limit", "",
      "File descriptor statistics: maximum."),
    F("node_nf_conntrack_entries", "gauge", (), "conntrack", "otel_mon.host.conntrack.count", "",
      "Number of currently allocated flow entries for connection tracking."),
    F("node_nf_conntrack_entries_limit", "gauge", (), "conntrack", "otel_mon.host.conntrack.limit", "",
      "Maximum size of connection tracking table."),
    F("node_timex_offset_seconds", "gauge", (), "timex", "otel_mon.host.clock.offset", "",
      "Time offset in between local system and reference clock."),
    F("node_timex_maxerror_seconds", "gauge", (), "timex", "otel_mon.host.clock.max_error", "",
      "Maximum error in seconds."),
    F("node_timex_sync_status", "gauge", (), "timex", "otel_mon.host.clock.synchronized",
      "the agent also counts adjtimex's TIME_ERROR as unsynchronised",
      "Is clock synchronized to a reliable server (1 = yes, 0 = no)."),
    F("node_textfile_mtime_seconds", "gauge", ("file",), "textfile", "otel_mon.textfile.mtime",
      "each file read successfully; the files' own families follow as written",
      "Unixtime mtime of textfiles successfully read."),
    F("node_textfile_scrape_error", "gauge", (), "textfile", "otel_mon.textfile.error",
      "the largest over the files (1 if any was skipped)",
      "1 if there was an error opening or reading a file, 0 otherwise"),
    F("node_systemd_unit_state", "gauge", ("name", "state", "type"), "systemd", "otel_mon.systemd.unit.state",
      "type is the unit's suffix (service, mount, ...); units chosen by systemd.units (default *.service)",
      "Systemd unit"),
    F("node_systemd_service_restart_total", "counter", ("name",), "systemd", "otel_mon.systemd.unit.restarts",
      "NRestarts of each service", "Service unit count of Restart triggers"),
    F("node_systemd_system_running", "gauge", (), "systemd", "otel_mon.systemd.system.state",
      "1 when SystemState is running", "Whether the system is operational (see 'systemctl is-system-running')"),
    F("node_hwmon_chip_names", "gauge", ("chip", "chip_name"), "hwmon", "hwmon name file",
      "the same read as hw.temperature; chip from the device path, as node_exporter names it",
      "Annotation metric for human-readable chip names"),
    F("node_hwmon_sensor_label", "gauge", ("chip", "label", "sensor"), "hwmon", "hwmon temp*_label",
      "temperature sensors only (the agent reads no other hwmon sensor)", "Label for given chip and sensor"),
    F("node_hwmon_temp_celsius", "gauge", ("chip", "sensor"), "hwmon", "hw.temperature",
      "temp*_input of each chip (its directory and device/ merged)", "Hardware monitor for temperature (input)"),
    F("node_hwmon_temp_<field>_celsius", "gauge", ("chip", "sensor"), "hwmon", "hwmon temp*_<field>",
      "every other temp*_<field> file (max, crit, crit_alarm, min, ...), millidegrees / 1000",
      "Hardware monitor for temperature (<field>)"),
    F("node_hwmon_temp_alarm", "gauge", ("chip", "sensor"), "hwmon", "hwmon temp*_alarm", "",
      "Hardware sensor alarm status (temp)"),
    F("node_hwmon_temp_fault", "gauge", ("chip", "sensor"), "hwmon", "hwmon temp*_fault", "",
      "Hardware sensor fault status (temp)"),
    F("node_hwmon_temp_beep_enabled", "gauge", ("chip", "sensor"), "hwmon", "hwmon temp*_beep", "",
      "Hardware monitor sensor has beeping enabled"),
    F("node_hwmon_temp_type", "gauge", ("chip", "sensor"), "hwmon", "hwmon temp*_type",
      "the sensor type number as the driver gives it", "Hardware monitor temp element type"),
    F("node_scrape_collector_duration_seconds", "gauge", ("collector",), "scrape", "otel_mon.collector.duration",
      "the duration of the agent's domain that read the source (cpu and cpufreq share the cpu domain's)",
      "node_exporter: Duration of a collector scrape."),
    F("node_scrape_collector_success", "gauge", ("collector",), "scrape", "otel_mon.collector.success",
      "the agent's domain's last read", "node_exporter: Whether a collector succeeded."),
)
del F

BY_NAME: dict[str, Family] = {f.name: f for f in FAMILIES}

# node_exporter collector -> the agent's host domain whose read it is rendered from (node_scrape_collector_*).
# time, uname and os need no host read per collection: they always succeed.
COLLECTOR_DOMAINS: dict[str, str | None] = {
    "cpu": "cpu", "cpufreq": "cpu", "diskstats": "disk", "filesystem": "filesystem", "loadavg": "load",
    "meminfo": "memory", "netdev": "network", "stat": "processes", "time": None, "uname": None, "os": None,
    "vmstat": "paging", "pressure": "pressure", "filefd": "filefd", "conntrack": "conntrack", "timex": "clock",
    "textfile": "textfile", "systemd": "systemd", "hwmon": "sensors",
}

# The families of node_exporter 1.12.1's default Linux collectors (as it serves them on a typical host) the
# agent does not produce, by collector, and why. A collector absent from both lists has no default families.
NOT_PRODUCED: dict[str, str] = {
    "arp": "node_arp_entries: the agent does not read /proc/net/arp",
    "bcache, bonding, btrfs, dmmultipath, edac, fibrechannel, infiniband, ipvs, mdadm, nfs, nfsd, nvme, rapl, "
    "schedstat, tapestats, xfs, zfs, bcachefs, powersupplyclass, watchdog, dmi, selinux, kernel_hung":
        "not read by the agent (hardware- and filesystem-specific detail)",
    "cpu": "node_cpu_info and the --collector.cpu.* flags' families (off by default there too)",
    "cpufreq": "node_cpu_frequency_{max,min}_hertz, node_cpu_scaling_frequency_{max,min}_hertz, "
               "node_cpu_scaling_governor: the agent reads scaling_cur_freq only",
    "diskstats": "node_disk_discard*, node_disk_flush_requests*, node_disk_info (udev properties): the agent "
                 "reads diskstats' first 11 fields",
    "entropy": "node_entropy_available_bits, node_entropy_pool_size_bits",
    "filesystem": "node_filesystem_mount_info (major/minor), node_filesystem_purgeable_bytes (macOS only in "
                  "meaning); device_error is 0 on every mount served",
    "hwmon": "node_hwmon_{fan,in,curr,power,energy,humidity,pwm,freq,intrusion,cpu}_*, node_hwmon_beep_enabled, "
             "node_hwmon_voltage_regulator_version, node_hwmon_update_interval_seconds and their labels: the "
             "agent reads temperature sensors only",
    "netclass": "node_network_{up,mtu_bytes,speed_bytes,carrier*,info,flags,...}: the agent does not read "
                "/sys/class/net",
    "netdev": "node_network_{receive,transmit}_{fifo,frame,compressed,multicast,colls,carrier,nohandler}_total: "
              "psutil reads only bytes, packets, errs and drop",
    "netstat, sockstat, softnet, udp_queues": "per-protocol counters: the agent counts sockets by state "
                                               "(system.network.connection.count) instead",
    "conntrack": "node_nf_conntrack_stat_*: /proc/net/stat/nf_conntrack is not read",
    "thermal_zone": "node_thermal_zone_temp: thermal zones feed hw.temperature only where hwmon has none",
    "time": "node_time_clocksource_*: /sys/devices/system/clocksource is not read",
    "timex": "node_timex_{estimated_error,frequency_adjustment_ratio,loop_time_constant,status,tick,tai_offset}"
             "_* and node_timex_pps_*: the agent keeps offset, max error and sync state of the adjtimex call",
    "exporter": "node_exporter_build_info, go_*, process_*, promhttp_*: node_exporter's own process "
                "(the agent's are process_* and otel_mon_* on /metrics)",
}
