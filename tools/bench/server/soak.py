#!/usr/bin/python3
"""Soak geolocd: hold a steady load while swapping bundles, and watch memory and latency.

The complaint users of model servers file most about hot reloads is memory that grows with every
load/unload cycle and latency spikes during a swap. This tool measures both on loopback:

  1. starts geolocd (--model, --bundle_a) on free loopback ports and waits until it serves;
  2. measures capacity: geoloc-loadgen at --concurrency for --capacity_seconds, unthrottled;
  3. holds --load_fraction of that rate for --minutes, one geoloc-loadgen run per minute (so each
     minute has its own p50/p99), while a swapper calls `geoloc swap-index` every --swap_every
     seconds, alternating --bundle_b and --bundle_a, and a sampler reads geolocd's resident
     memory (VmRSS) every second;
  4. stops geolocd with SIGTERM and writes OUT/soak.json, OUT/soak.md and OUT/soak.png.

The three figures (docs/BENCHMARKS.md "Soak"): resident-memory growth from --warmup_minutes to
the end, the worst p99 of a minute with a swap over the median minute's p99, and failed calls.
Exit status: 0 when every call and every swap succeeded and geolocd counted every swap (its own
geoloc_swaps_total), 1 otherwise, 2 on a usage error. Timings are reported against the goals,
never turned into the exit status: they depend on the machine.

  tools/bench/server/soak.py --build build --model M --bundle_a A --bundle_b B --images DIR \
      --out OUT [--minutes 30] [--swap_every 60] [--load_fraction 0.8] [--concurrency 16]
"""
import argparse
import json
import os
import pathlib
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

# Goals of issue 18 (docs/BENCHMARKS.md "Soak"): the one place they are written down.
MAX_RSS_GROWTH = 0.05          # resident memory, warm-up end to the last minute
MAX_SWAP_P99_RATIO = 1.5       # a minute with a swap against the median minute's p99
HEALTH_TIMEOUT_S = 300         # geolocd loads a model and a bundle before it serves


def log(message):
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    """VmRSS of a process in KiB, or None once it has gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def scrape_metric(metrics_port, name):
    """Sum of every sample of one metric family in geolocd's Prometheus text, by label set."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read()
    samples = {}
    for line in text.decode().splitlines():
        if line.startswith(name):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    return samples


class Server:
    """geolocd on free loopback ports; stop() sends SIGTERM and waits."""

    def __init__(self, args, out):
        self.port = free_port()
        self.metrics_port = free_port()
        command = [str(args.build / "server/geolocd"), f"--model={args.model}",
                   f"--bundle={args.bundle_a}", f"--listen=127.0.0.1:{self.port}",
                   f"--metrics_listen=127.0.0.1:{self.metrics_port}",
                   f"--index_root={args.index_root}"] + shlex.split(args.server_flags)
        self.log_path = out / "geolocd.log"
        self.log_file = open(self.log_path, "w")
        log("starting " + " ".join(command))
        # As the container images do (core/model/openmp_spin.h), unless the caller set either.
        env = dict(os.environ)
        if not env.get("OMP_WAIT_POLICY"):
            env.setdefault("GOMP_SPINCOUNT", "10000")
        self.process = subprocess.Popen(command, stdout=self.log_file, stderr=subprocess.STDOUT,
                                        env=env)

    def wait_serving(self, geoloc):
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"geolocd exited with {self.process.returncode}: "
                                   f"see {self.log_path}")
            health = subprocess.run([geoloc, "health", f"--server=127.0.0.1:{self.port}",
                                     "--deadline_ms=2000"], capture_output=True, text=True)
            if health.returncode == 0 and "SERVING" in health.stdout:
                return
            time.sleep(0.5)  # polling the server's own health state, not waiting a fixed time
        raise RuntimeError(f"geolocd did not serve within {HEALTH_TIMEOUT_S} s")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()
        return self.process.returncode


def run_loadgen(args, port, seconds, rps):
    command = [str(args.build / "tools/loadgen/geoloc-loadgen"), f"--server=127.0.0.1:{port}",
               f"--images={args.images}", f"--concurrency={args.concurrency}",
               f"--duration={seconds}s", f"--rps={rps}", "--json"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"geoloc-loadgen failed ({result.returncode}): {result.stderr.strip()}")
    report = json.loads(result.stdout)
    latency = {int(p["percentage"]): p["latency"] / 1e6 for p in report["latencyDistribution"]}
    ok = int(report["statusCodeDistribution"].get("OK", 0))
    return {"count": int(report["count"]), "ok": ok, "failed": int(report["count"]) - ok,
            "rps": report["rps"], "p50_ms": latency.get(50), "p99_ms": latency.get(99),
            "errors": report.get("errorDistribution", {})}


class Swapper(threading.Thread):
    """Swaps A -> B -> A ... every `every` seconds until stopped; records each swap."""

    def __init__(self, geoloc, port, bundles, every, start_time):
        super().__init__(daemon=True)
        self.geoloc, self.port, self.bundles, self.every = geoloc, port, bundles, every
        self.start_time = start_time
        self.swaps = []  # (seconds since start, bundle, ok, seconds the call took, message)
        self.stopped = threading.Event()

    def run(self):
        turn = 1
        while not self.stopped.wait(self.every):
            bundle = self.bundles[turn % 2]
            began = time.monotonic()
            result = subprocess.run([self.geoloc, "swap-index", str(bundle),
                                     f"--server=127.0.0.1:{self.port}"],
                                    capture_output=True, text=True)
            ok = result.returncode == 0
            self.swaps.append((began - self.start_time, str(bundle), ok,
                               time.monotonic() - began, (result.stdout + result.stderr).strip()))
            log(f"swap to {bundle.name}: {'ok' if ok else 'FAILED'} "
                f"({time.monotonic() - began:.1f} s)")
            turn += 1


class MemorySampler(threading.Thread):
    def __init__(self, pid, start_time):
        super().__init__(daemon=True)
        self.pid, self.start_time = pid, start_time
        self.samples = []  # (seconds since start, RSS MiB)
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(1.0):
            kib = rss_kib(self.pid)
            if kib is not None:
                self.samples.append((time.monotonic() - self.start_time, kib / 1024.0))


def summarize(minutes, swaps, memory, warmup_minutes, capacity):
    swap_minutes = sorted({int(t // 60) for t, *_ in swaps})
    p99s = [m["p99_ms"] for m in minutes]
    median_p99 = statistics.median(p99s)
    worst_swap_p99 = max((minutes[i]["p99_ms"] for i in swap_minutes if i < len(minutes)),
                         default=None)
    # The median of a minute, not one sample: a swap holds two bundles for a moment.
    end = memory[-1][0] if memory else 0
    first = [mib for t, mib in memory if warmup_minutes * 60 <= t < warmup_minutes * 60 + 60]
    last = [mib for t, mib in memory if t >= end - 60]
    warm = [mib for t, mib in memory if t >= warmup_minutes * 60]
    rss_start = statistics.median(first) if first else None
    rss_end = statistics.median(last) if last else None
    rss_growth = (rss_end - rss_start) / rss_start if first and end > warmup_minutes * 60 + 60 \
        else None
    failed_calls = sum(m["failed"] for m in minutes)
    failed_swaps = sum(1 for s in swaps if not s[2])
    return {
        "capacity_rps": capacity, "minutes": len(minutes), "swaps": len(swaps),
        "failed_calls": failed_calls, "failed_swaps": failed_swaps,
        "calls": sum(m["count"] for m in minutes),
        "median_minute_p99_ms": median_p99, "worst_swap_minute_p99_ms": worst_swap_p99,
        "swap_p99_ratio": worst_swap_p99 / median_p99 if worst_swap_p99 else None,
        "rss_mib_at_warmup_end": rss_start, "rss_mib_at_end": rss_end, "rss_growth": rss_growth,
        "rss_mib_peak_after_warmup": max(warm) if warm else None,
        "swap_minutes": swap_minutes,
    }


def plot(out, minutes, swaps, memory, summary):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    top.plot([t / 60 for t, _ in memory], [m for _, m in memory], color="tab:blue")
    top.set_ylabel("geolocd resident memory (MiB)")
    top.set_title(f"Soak: {summary['minutes']} min at {summary['calls'] / (60 * summary['minutes']):.1f} "
                  f"req/s, {summary['swaps']} bundle swaps, {summary['failed_calls']} failed calls")
    x = [i + 0.5 for i in range(len(minutes))]
    bottom.plot(x, [m["p50_ms"] for m in minutes], "o-", label="p50 of the minute")
    bottom.plot(x, [m["p99_ms"] for m in minutes], "s-", label="p99 of the minute")
    bottom.axhline(summary["median_minute_p99_ms"] * MAX_SWAP_P99_RATIO, color="tab:red",
                   linestyle=":", label=f"{MAX_SWAP_P99_RATIO}x the median minute's p99")
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("minutes since the load began")
    for axis in (top, bottom):
        for i, (t, *_rest) in enumerate(swaps):
            axis.axvline(t / 60, color="grey", alpha=0.35, linewidth=0.8,
                         label="bundle swap" if axis is bottom and i == 0 else None)
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "soak.png", dpi=110)


def write_markdown(out, summary, minutes, warmup_minutes):
    def verdict(ok):
        return "meets the goal" if ok else "MISSES the goal"
    growth = summary["rss_growth"]
    ratio = summary["swap_p99_ratio"]
    lines = [
        f"capacity (unthrottled, measured first): {summary['capacity_rps']:.1f} req/s; "
        f"{summary['calls']} calls in {summary['minutes']} minutes, {summary['swaps']} swaps",
        "",
        "| figure | value | goal |",
        "| --- | --- | --- |",
        f"| resident memory, median of minute {warmup_minutes + 1} -> median of the last minute | "
        f"{summary['rss_mib_at_warmup_end']:.0f} -> {summary['rss_mib_at_end']:.0f} MiB "
        f"({growth * 100:+.1f}%; peak {summary['rss_mib_peak_after_warmup']:.0f}) | "
        f"< {MAX_RSS_GROWTH * 100:.0f}% ({verdict(growth < MAX_RSS_GROWTH)}) |"
        if growth is not None else "| resident memory | too short to tell | |",
        f"| worst p99 of a minute with a swap / median minute p99 | "
        f"{summary['worst_swap_minute_p99_ms']:.1f} / {summary['median_minute_p99_ms']:.1f} ms "
        f"= {ratio:.2f} | <= {MAX_SWAP_P99_RATIO} ({verdict(ratio <= MAX_SWAP_P99_RATIO)}) |"
        if ratio is not None else "| swap minutes | no swap happened | |",
        f"| failed calls (and swaps) | {summary['failed_calls']} ({summary['failed_swaps']}) | 0 |",
        "",
        "| minute | calls | req/s | p50 ms | p99 ms | swap |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for i, m in enumerate(minutes):
        lines.append(f"| {i + 1} | {m['count']} | {m['rps']:.1f} | {m['p50_ms']:.1f} | "
                     f"{m['p99_ms']:.1f} | {'yes' if i in summary['swap_minutes'] else ''} |")
    (out / "soak.md").write_text("\n".join(lines) + "\n")
    return "\n".join(lines[:7])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", type=pathlib.Path, default=pathlib.Path("build"))
    parser.add_argument("--model", required=True)
    parser.add_argument("--bundle_a", type=pathlib.Path, required=True)
    parser.add_argument("--bundle_b", type=pathlib.Path, required=True)
    parser.add_argument("--images", required=True, help="a directory of query images")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--warmup_minutes", type=int, default=5,
                        help="memory growth is measured from here to the end")
    parser.add_argument("--swap_every", type=float, default=60.0, help="seconds between swaps")
    parser.add_argument("--load_fraction", type=float, default=0.8)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--capacity_seconds", type=int, default=20)
    parser.add_argument("--server_flags", default="", help="extra geolocd flags, shell-quoted")
    parser.add_argument("--plot", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    if args.minutes < 1 or not 0 < args.load_fraction <= 1 or args.swap_every <= 0:
        parser.error("--minutes >= 1, 0 < --load_fraction <= 1 and --swap_every > 0 are required")
    if args.warmup_minutes >= args.minutes:
        parser.error("--warmup_minutes must be below --minutes")
    for bundle in (args.bundle_a, args.bundle_b):
        if not (bundle / "manifest.json").exists() and not bundle.is_dir():
            parser.error(f"{bundle} is not a bundle directory")
    args.bundle_a, args.bundle_b = args.bundle_a.resolve(), args.bundle_b.resolve()
    args.index_root = os.path.commonpath([args.bundle_a, args.bundle_b])
    args.out.mkdir(parents=True, exist_ok=True)
    geoloc = str(args.build / "client/geoloc")

    server = Server(args, args.out)
    swapper = sampler = None
    try:
        server.wait_serving(geoloc)
        log(f"measuring capacity: concurrency {args.concurrency}, {args.capacity_seconds} s")
        capacity = run_loadgen(args, server.port, args.capacity_seconds, 0)["rps"]
        target = args.load_fraction * capacity
        log(f"capacity {capacity:.1f} req/s; holding {target:.1f} req/s for {args.minutes} min")
        start = time.monotonic()
        sampler = MemorySampler(server.process.pid, start)
        swapper = Swapper(geoloc, server.port, (args.bundle_a, args.bundle_b), args.swap_every,
                          start)
        sampler.start()
        swapper.start()
        minutes = []
        for minute in range(args.minutes):
            minutes.append(run_loadgen(args, server.port, 60, target))
            m = minutes[-1]
            eta = (args.minutes - minute - 1)
            log(f"minute {minute + 1}/{args.minutes}: {m['rps']:.1f} req/s, p50 {m['p50_ms']:.1f} "
                f"ms, p99 {m['p99_ms']:.1f} ms, failed {m['failed']}, "
                f"RSS {sampler.samples[-1][1]:.0f} MiB, ETA {eta} min")
        swapper.stopped.set()
        swapper.join()
        sampler.stopped.set()
        sampler.join()
        counted = scrape_metric(server.metrics_port, "geoloc_swaps_total")
    finally:
        for thread in (swapper, sampler):
            if thread is not None:
                thread.stopped.set()
        exit_code = server.stop()

    summary = summarize(minutes, swapper.swaps, sampler.samples, args.warmup_minutes, capacity)
    summary["server_counted_swaps"] = counted
    summary["geolocd_exit_code"] = exit_code
    (args.out / "soak.json").write_text(json.dumps(
        {"summary": summary, "minutes": minutes, "memory_mib": sampler.samples,
         "swaps": swapper.swaps}, indent=1) + "\n")
    print(write_markdown(args.out, summary, minutes, args.warmup_minutes))
    if args.plot:
        plot(args.out, minutes, swapper.swaps, sampler.samples, summary)
        log(f"plot: {args.out / 'soak.png'}")
    server_ok = sum(v for k, v in counted.items() if 'result="ok"' in k and 'trigger="rpc"' in k)
    problems = []
    if summary["failed_calls"]:
        problems.append(f"{summary['failed_calls']} calls failed")
    if summary["failed_swaps"]:
        problems.append(f"{summary['failed_swaps']} swaps failed")
    if server_ok != len(swapper.swaps):
        problems.append(f"geolocd counted {server_ok:.0f} successful swaps, the tool made "
                        f"{len(swapper.swaps)}")
    if exit_code != 0:
        problems.append(f"geolocd exited with {exit_code} after SIGTERM")
    for problem in problems:
        log("FAILED: " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
