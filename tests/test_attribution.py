"""Classifying profile samples: real `perf script` output of both servers,
recorded on this project's test VM (tests/data/perf/*.json say how), and
the rules file's priorities and errors."""

import gzip
import json

import pytest

from conftest import REPO
from scripts.parse import attribution, perfscript
from scripts.parse.attribution import AttributionError, Classifier, Frame, load_rules

DATA = REPO / "tests/data/perf"
SCHED = "kernel: scheduler and context switch"


def fixture(name: str):
    meta = json.loads((DATA / f"{name}-64clients.json").read_text())
    rules = load_rules(server=meta["server_program"])
    with gzip.open(DATA / f"{name}-64clients.txt.gz", "rt") as f:
        table = perfscript.fold(perfscript.samples(f, name), Classifier(rules),
                                set(meta["server_pids"]))
    return meta, table


def shares(table) -> dict[str, float]:
    server = table[table["owner"] == "server"]
    by = server.groupby("category")["period_ns"].sum()
    return (100 * by / by.sum()).to_dict()


@pytest.mark.parametrize("name", ["papayachat", "goroutines"])
def test_every_sample_is_kept_with_a_category_of_the_table(name):
    meta, table = fixture(name)
    assert table["samples"].sum() == meta["samples"]  # none dropped
    assert set(table["category"]) <= set(attribution.categories(load_rules()))
    assert set(table["owner"]) <= set(perfscript.OWNERS)
    assert (table.loc[table["owner"] == "server", "pid"].isin(meta["server_pids"])).all()


def test_papayachat_spends_its_time_switching_and_in_tcp():
    _, table = fixture("papayachat")
    s = shares(table)
    assert s[SCHED] > 20  # a process per client: a kernel switch per read
    assert s["kernel: TCP/IP receive"] > 5 and s["kernel: TCP/IP send and acks"] > 0
    # Its acks, over netns's loopback: told apart, or run under its
    # transmit where the chain cannot tell (the gather step splits those).
    assert s[attribution.PEER] > 3 and s[attribution.PEER] + s[attribution.UNASSIGNED] > 10
    assert s["C library"] > 0 and s["server code"] > 0
    assert not any(k.startswith("Go ") for k in s)
    assert sum(v for k, v in s.items() if k.startswith("kernel:")) > 80


def test_goroutines_switch_in_the_go_runtime_not_the_kernel():
    _, papaya = fixture("papayachat")
    _, table = fixture("goroutines")
    s = shares(table)
    assert s["Go runtime scheduler"] > 0 and s["Go netpoller"] > 0
    assert s[SCHED] < shares(papaya)[SCHED] / 5
    assert s["kernel: epoll and poll"] > 0  # the netpoller's epoll_wait
    assert "C library" not in s  # a static Go binary


def k(*symbols: str) -> tuple[Frame, ...]:
    return tuple(Frame(s, "kernel") for s in symbols)


RECEIVE_UNDER_XMIT = k("tcp_rcv_established", "tcp_v4_rcv", "process_backlog", "net_rx_action",
                       "__local_bh_enable_ip", "__dev_queue_xmit", "ip_output",
                       "__tcp_transmit_skb", "tcp_send_ack", "tcp_recvmsg")
UNDER_ACK = k("native_queued_spin_lock_slowpath")


@pytest.mark.parametrize("chain, category", [
    # Time under __schedule is the scheduler's, whichever call led there.
    (k("finish_task_switch.isra.0", "__schedule", "schedule", "sk_wait_data",
       "tcp_recvmsg_locked", "tcp_recvmsg"), SCHED),
    # A wake-up inside the receive path is a wake-up.
    (k("_raw_spin_unlock_irqrestore", "try_to_wake_up", "sock_def_readable",
       "tcp_data_queue", "tcp_rcv_established", "tcp_v4_rcv"), "kernel: wake-ups"),
    # The ack a read sends, delivered over loopback into the peer's socket
    # in the server's context, is the peer's receive where it does what only
    # a sender with data in flight does (congestion control here); tcp_ack
    # alone, which the server's own data receive runs too, is left to the
    # per-profile split, and a receive that queues data is the server's.
    (UNDER_ACK + k("bbr_main", "tcp_ack") + RECEIVE_UNDER_XMIT, attribution.PEER),
    (k("tcp_ack") + RECEIVE_UNDER_XMIT, attribution.UNASSIGNED),
    (UNDER_ACK + k("tcp_data_queue") + RECEIVE_UNDER_XMIT, attribution.OWN_UNDER_TRANSMIT),
    (k("__tcp_transmit_skb", "tcp_send_ack", "tcp_recvmsg"), "kernel: TCP/IP send and acks"),
    (k("copy_user_generic", "_copy_to_iter", "tcp_recvmsg_locked", "tcp_recvmsg",
       "vfs_read", "ksys_read"), "kernel: TCP/IP receive"),
    (k("write_null", "vfs_write", "ksys_write", "do_syscall_64"),
     "kernel: VFS and the write to stdout"),
    # Entry code counts as such only where the CPU was in it.
    (k("syscall_exit_to_user_mode", "do_syscall_64"), "kernel: system-call entry and exit"),
    (k("futex_hash", "futex_wait", "do_syscall_64"), "kernel: other"),
    # A user caller does not make kernel time its own.
    (k("ep_poll", "do_epoll_wait") + (Frame("runtime.netpoll", "goroutines"),),
     "kernel: epoll and poll"),
    ((Frame("runtime.runqget", "goroutines"), Frame("runtime.findRunnable", "goroutines"),
      Frame("runtime.schedule", "goroutines")), "Go runtime scheduler"),
    ((Frame("main.(*server).relay", "goroutines"), Frame("runtime.goexit.abi0", "goroutines")),
     "server code"),
    ((Frame("runtime.memmove", "goroutines"), Frame("main.(*server).relay", "goroutines")),
     "Go runtime, other"),
    ((Frame("__libc_read", "libc.so.6"), Frame("serve_client", "papayachat")), "C library"),
    ((Frame("[unknown]", "[unknown]"),), "other user"),
])
def test_rules_apply_to_the_whole_chain_in_priority_order(chain, category):
    server = "goroutines" if any(f.dso == "goroutines" for f in chain) else "papayachat"
    assert Classifier(load_rules(server=server)).classify(chain) == category


HEADER = "category\tside\tfield\tpattern\n"
CATCH_ALL = "kernel: other\tkernel\tframe\t.*\nother user\tuser\tframe\t.*\n"


@pytest.mark.parametrize("text, message", [
    ("category side field pattern\n" + CATCH_ALL, ":1: the header must be"),
    (HEADER + "a\tkernel\tframe\n" + CATCH_ALL, ":2: 3 tab-separated columns"),
    (HEADER + "a\tuserland\tframe\tx\n" + CATCH_ALL, ":2: side 'userland'"),
    (HEADER + "a\tkernel\tcaller\tx\n" + CATCH_ALL, ":2: field 'caller'"),
    (HEADER + "a\tkernel\tframe\ttcp_(\n" + CATCH_ALL, ":2: pattern 'tcp_('"),
    (HEADER + "kernel: other\tkernel\tframe\t.*\n", "the last user rule must be 'frame .*'"),
])
def test_a_malformed_rules_file_is_named_with_its_line(tmp_path, text, message):
    path = tmp_path / "attribution.tsv"
    path.write_text(text)
    with pytest.raises(AttributionError, match=message.replace("(", r"\(")) as err:
        load_rules(path)
    assert str(path) in str(err.value)


def test_a_line_perf_script_never_prints_is_named(tmp_path):
    lines = ["papayachat 1/1 [001] 1001001\n", "\tnot a frame\n"]
    with pytest.raises(perfscript.PerfScriptError, match=r"x.txt:2: not a frame"):
        list(perfscript.samples(lines, "x.txt"))
    with pytest.raises(perfscript.PerfScriptError, match=r"x.txt:1: not a sample's header"):
        list(perfscript.samples(["garbage\n"], "x.txt"))


def test_a_file_perf_cannot_read_is_named(tmp_path):
    bogus = tmp_path / "perf.data"
    bogus.write_text("not perf data")
    with pytest.raises(perfscript.PerfScriptError, match=r"perf script -i .*perf.data failed"):
        perfscript.read(bogus, Classifier(load_rules()), set())


def test_a_receive_under_the_servers_transmit_is_split_as_the_told_ones_are():
    """30 ns told as the peer's ack, 10 as the server's data, 40 that no
    chain can tell: the 40 go 3:1, so the peer has 60 and the server's
    receive 20 + 10 + 10; the helpers leave the table."""
    import pandas as pd
    from scripts.core.study import KEYS
    from scripts.parse.profiles import category_shares
    keys = dict(zip(KEYS, ["goroutines", "netns", "1100us", 1, 64, 1, "vm"]))
    told = {attribution.PEER: 30, attribution.OWN_UNDER_TRANSMIT: 10,
            attribution.UNASSIGNED: 40, attribution.RECEIVE: 20}
    stacks = pd.DataFrame([{**keys, "owner": "server", "category": c, "samples": ns,
                            "period_ns": ns} for c, ns in told.items()])
    profiles = pd.DataFrame([{**keys, "available": True, "sampled": True}])
    shares = category_shares(stacks, profiles).set_index("category")
    assert shares.loc[attribution.PEER, "share_pct"] == pytest.approx(60)
    assert shares.loc[attribution.RECEIVE, "period_ns"] == 40
    assert attribution.UNASSIGNED not in shares.index
    assert attribution.OWN_UNDER_TRANSMIT not in shares.index
    assert shares["share_pct"].sum() == pytest.approx(100)
