"""Benchmark of the pipeline's own costs (prints figures; not a test).

1. Per-cell overhead beyond the measurement window: the wall time of one
   cell's measure step minus warm-up and top's window, for 1, 8 and 64
   clients (target: at most 0.5 s median at up to 64 clients).
2. The network paths' own cost: setting up and removing a cell's
   namespaces (netns, veth), timed alone, and the per-cell overhead of each
   path against loopback (target: netns at most 0.2 s over loopback).
3. Parsing and aggregating 100 cells: one real 64-client cell is measured,
   copied as 100 cells, then parsed and gathered (target: at most 10 s).
4. A kernel profile's time beyond its window, against a plain cell's,
   interleaved (target: at most 2 s), and the post-processing of a
   perf.data of about 10 MB (perf script, classification and folding,
   scripts.parse.profiles parse; target: at most 10 s).

Usage: python benchmarks/bench_pipeline.py [--bin build/bin] [--reps 3]
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.dataset.aggregate import aggregate  # noqa: E402
from scripts.core.files import write_tables  # noqa: E402
from scripts.parse.cell import parse_cell  # noqa: E402
from scripts.host.netpath import NetPath, not_permitted  # noqa: E402
from scripts.parse.profiles import parse as parse_profile  # noqa: E402


# Seconds of warm-up of each cell measured here.
WARMUP_S = 0


def measure(bin_dir: Path, server: str, clients: int, frames: int, out: Path,
            network: str = "loopback", *extra: str, warmup: float = WARMUP_S) -> float:
    """The cell's wall time beyond warm-up and window, s."""
    cmd = [sys.executable, "-m", "scripts.measure", "--server", server,
           "--server-cmd", str(bin_dir / server), "--rusage", str(bin_dir / "rusage"),
           "--loadgen", str(bin_dir / "loadgen"), "--vcpus", "1",
           "--clients", str(clients), "--warmup", str(warmup), "--top-frames", str(frames),
           "--top-delay", "1", "--network", network, "--out", str(out), *extra]
    started = time.monotonic()
    subprocess.run(cmd, cwd=REPO, check=True)
    return time.monotonic() - started - warmup - frames


def overhead(bin_dir: Path, work: Path, reps: int) -> None:
    frames = 2
    print(f"per-cell overhead beyond warm-up and window (warm-up {WARMUP_S} s, {frames} frames "
          f"x 1 s), "
          f"{reps} cells each")
    print(f"{'server':>10} {'clients':>7} {'median_s':>8} {'max_s':>6}")
    for server in ("papayachat", "goroutines"):
        for clients in (1, 8, 64):
            extra = [measure(bin_dir, server, clients, frames,
                             work / f"o-{server}-{clients}-{r}")
                     for r in range(reps)]
            print(f"{server:>10} {clients:>7} {statistics.median(extra):8.2f} "
                  f"{max(extra):6.2f}")


def network_paths(bin_dir: Path, work: Path, reps: int) -> None:
    why = not_permitted()
    if why:
        print(f"\nnetwork paths: not measured, {why}")
        return
    print("\nnetwork path setup and teardown alone (NetPath enter and exit), 20 each")
    for kind in ("loopback", "netns", "veth"):
        times = []
        for _ in range(20):
            started = time.monotonic()
            with NetPath(kind, "bench", (1,)):
                pass
            times.append(time.monotonic() - started)
        print(f"{kind:>10}: median {1000 * statistics.median(times):6.1f} ms, "
              f"max {1000 * max(times):6.1f} ms")
    frames, clients = 2, 8
    print(f"\nper-cell overhead beyond warm-up and window by network path (goroutines, {clients} "
          f"clients, {frames} frames), {reps * 2} cells each, interleaved")
    extra = {kind: [] for kind in ("loopback", "netns", "veth")}
    for r in range(reps * 2):
        for kind in extra:
            extra[kind].append(measure(bin_dir, "goroutines", clients, frames,
                                       work / f"n-{kind}-{r}", kind))
    base = statistics.median(extra["loopback"])
    for kind, values in extra.items():
        print(f"{kind:>10}: median {statistics.median(values):5.2f} s, "
              f"{statistics.median(values) - base:+5.2f} s against loopback")


def parse_100(bin_dir: Path, work: Path) -> None:
    real = work / "real"
    measure(bin_dir, "papayachat", 64, 10, real)
    raws = []
    for i in range(100):
        raw = work / "raw" / f"c{i}"
        shutil.copytree(real, raw)
        meta = json.loads((raw / "meta.json").read_text())
        meta["clients"], meta["repetition"] = 64 + i // 10, 1 + i % 10
        (raw / "meta.json").write_text(json.dumps(meta))
        raws.append(raw)
    started = time.monotonic()
    for i, raw in enumerate(raws):
        write_tables(parse_cell(raw), work / "parsed" / f"c{i}")
    parsed = time.monotonic() - started
    tables = aggregate([work / "parsed" / f"c{i}" for i in range(100)])
    write_tables(tables, work / "dataset")
    total = time.monotonic() - started
    top_lines = sum(1 for _ in open(real / "top.txt"))
    print(f"\nparse and aggregate 100 cells (64 clients, 10 frames, {top_lines} "
          f"top lines each), in one process: parse "
          f"{parsed:.2f} s, total {total:.2f} s ({len(tables['top_procs'])} process rows)")
    started = time.monotonic()
    for i in range(5):
        subprocess.run([sys.executable, "-m", "scripts.parse.cell", str(raws[i]),
                        str(work / "cli" / f"c{i}")], cwd=REPO, check=True)
    per_job = (time.monotonic() - started) / 5
    print(f"as the pipeline runs it, one `python -m scripts.parse.cell` per cell: "
          f"{per_job:.2f} s per cell (Python and pandas start-up included), "
          f"{100 * per_job:.0f} s for 100")


def profiles(bin_dir: Path, work: Path, reps: int) -> None:
    # Over netns, as the pipeline's default: over loopback, loadgen's CPU
    # also receives the server's acks, and at 64 clients misses its cadence.
    # With a warm-up, as the pipeline's (2 s): perf starts up during it.
    frames, clients, warmup = 2, 64, 1.0
    net = "loopback" if not_permitted() else "netns"
    print(f"\nkernel profile vs plain cell beyond warm-up and window ({clients} clients, "
          f"{frames} frames, warm-up {warmup:g} s, {net}, cpu-clock at 999 Hz), {reps} each, "
          "interleaved")
    for server in ("papayachat", "goroutines"):
        extra = {"plain": [], "profile": []}
        for r in range(reps):
            extra["plain"].append(measure(bin_dir, server, clients, frames,
                                          work / f"p-{server}-{r}", net, warmup=warmup))
            extra["profile"].append(measure(bin_dir, server, clients, frames,
                                            work / f"f-{server}-{r}", net, "--profile-event",
                                            "cpu-clock", warmup=warmup))
        plain, prof = (statistics.median(extra[k]) for k in ("plain", "profile"))
        print(f"{server:>10}: profile median {prof:5.2f} s (max {max(extra['profile']):5.2f}), "
              f"plain {plain:5.2f} s: the profile adds {prof - plain:+.2f} s")
    raw = work / "big-profile"
    measure(bin_dir, "papayachat", clients, 10, raw, net, "--profile-event",
            "cpu-clock", "--profile-frequency", "4999")
    size_mb = (raw / "perf.data").stat().st_size / 1e6
    started = time.monotonic()
    tables = parse_profile(raw)
    took = time.monotonic() - started
    print(f"post-processing a {size_mb:.1f} MB perf.data ({tables['profile']['samples'][0]:,} "
          f"samples, {len(tables['stacks']):,} distinct chains): {took:.2f} s, "
          f"{took * 10 / size_mb:.2f} s per 10 MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, default=REPO / "build" / "bin")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        overhead(args.bin, Path(tmp), args.reps)
        network_paths(args.bin, Path(tmp), args.reps)
        parse_100(args.bin, Path(tmp))
        profiles(args.bin, Path(tmp), args.reps)


if __name__ == "__main__":
    main()
