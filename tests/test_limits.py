"""The host's limits a cell must fit in, read from this host for real."""

import resource

from scripts.host import limits


def test_every_limit_of_a_small_cell_fits_and_is_recorded():
    found = limits.check(8, "process", local_loadgen=True)
    names = [lim["name"] for lim in found]
    assert any("RLIMIT_NOFILE" in n for n in names)
    assert any("kernel.pid_max" in n for n in names)
    assert any("kernel.threads-max" in n for n in names)
    assert any("ip_local_port_range" in n for n in names)
    assert any("MemAvailable" in n for n in names)
    assert all(lim["need"] <= lim["have"] for lim in found)


def test_no_task_limits_for_a_server_without_a_task_per_client():
    names = [lim["name"] for lim in limits.check(8, None, local_loadgen=False)]
    assert not any("pid_max" in n or "ip_local_port_range" in n for n in names)


def test_a_cell_beyond_the_pid_space_and_the_ports_names_each_limit():
    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    clients = pid_max + 1
    try:
        limits.check(clients, "process", local_loadgen=True)
    except limits.LimitError as exc:
        message = str(exc)
    else:
        raise AssertionError("a cell beyond pid_max fitted")
    assert message.startswith("the cell cannot fit in the host's limits: ")
    assert (f"tasks on the host (kernel.pid_max less those in use): {clients:,} clients "
            f"need {clients + limits.SPARE_TASKS:,}") in message
    assert f"local ports (net.ipv4.ip_local_port_range): {clients:,} clients" in message


def test_raise_soft_lifts_the_soft_limit_to_the_hard_one():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
        limits.raise_soft()
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
