#!/usr/bin/python3
"""Summarises one run of tools/bench/server/locate_bench.sh (reads RESULTS_DIR, prints markdown).

  /usr/bin/python3 tools/bench/server/locate_summary.py RESULTS_DIR

Inputs in RESULTS_DIR (written by locate_bench.sh):
  run.json                       machine, commands, server flags, load averages
  encoder.json                   encoder_bench, Google Benchmark JSON (fp32_optimized, batch 1/16)
  encoder_1core.json             encoder_bench on one core, one thread, batch 16
  decode_1core.json              decode_bench on one core (1024x768 JPEG, reduced decoding)
  search.json                    flat_search_bench, Google Benchmark JSON (geoloc kernel, batch 1/16)
  store.json                     flat_store_bench --json_out, default threads (fp32 and sq8 stores)
  store_1core.json               the same on one core, one thread
  python.json, python_tN.json    tools/bench/python/locate_baseline.py --json
  cN.json                        geoloc-loadgen --json at concurrency N
  metrics_cN_{before,after}.txt  geolocd's /metrics around that load
  time_cN.txt                    /usr/bin/time -f '%U %S %e' of that loadgen (its own CPU)
  profile_c1.jsonl               geoloc locate --json answers of sequential calls (their timings)
Writes RESULTS_DIR/summary.json and prints the tables and the goal ratios.

The pipeline limit (issue 18): the Locate throughput the cores allow when they do nothing but the
three stages every image needs, = cores x 1000 / (decode + encode + search ms of CPU per image),
each stage measured alone on one core with one thread in the same run (encode and search at
batch 16, the server's largest batch; the search of the flat store the server serves). Everything
else the server does (gRPC, batching, estimate, threads waiting) is what the gap to it measures.
"""
import glob
import json
import os
import re
import sys

GOAL_PIPELINE = 0.9     # c16 Locate req/s / the pipeline limit, at least
GOAL_LATENCY = 1.5      # c1 p99 / (encoder batch-1 ms + search ms), at most


def load_json(path):
    with open(path) as f:
        return json.load(f)


def gbench_median(path, name_re):
    """The median aggregate (or the only run) of the benchmark whose name matches name_re."""
    data = load_json(path)
    runs = [b for b in data["benchmarks"] if re.search(name_re, b["name"])]
    med = [b for b in runs if b.get("aggregate_name") == "median"]
    if med:
        return med[0]
    if runs:
        return runs[0]
    raise SystemExit(f"{path}: no benchmark matching {name_re}")


def to_ms(b):
    unit = b.get("time_unit", "ns")
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    return b["real_time"] * scale


def parse_metrics(path):
    """Prometheus text -> {(name, frozenset(labels)): value}."""
    out = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)')
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            m = line_re.match(line)
            if not m:
                continue
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
            try:
                out[(m.group(1), labels)] = float(m.group(4))
            except ValueError:
                pass
    return out


def delta(before, after, name, **labels):
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def stage_means(before, after):
    """Mean ms per observation of each stage during the load, and the count."""
    res = {}
    for stage in ("decode", "queue", "encode", "search", "estimate"):
        n = delta(before, after, "geoloc_stage_duration_seconds_count", stage=stage)
        s = delta(before, after, "geoloc_stage_duration_seconds_sum", stage=stage)
        res[stage] = {"count": n, "mean_ms": 1000.0 * s / n if n else None,
                      "total_s": s}
    return res


def percentile(sorted_vals, p):
    """Nearest rank, as geoloc-loadgen: the smallest value with at least p% at or below it."""
    import math
    rank = max(1, math.ceil(p / 100.0 * len(sorted_vals)))
    return sorted_vals[rank - 1]


def fmt(x, nd=1):
    return "-" if x is None else f"{x:.{nd}f}"


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    rd = sys.argv[1]
    run = load_json(os.path.join(rd, "run.json"))
    summary = {"run": run}

    # Encoder and search, measured offline in the same run.
    variant = run.get("encoder_variant", "fp32_optimized")
    enc1 = gbench_median(os.path.join(rd, "encoder.json"), variant + r"/batch:1/")
    enc16 = gbench_median(os.path.join(rd, "encoder.json"), variant + r"/batch:16/")
    enc = {"b1_ms": to_ms(enc1), "b1_images_per_s": enc1["items_per_second"],
           "b16_ms_per_batch": to_ms(enc16), "b16_images_per_s": enc16["items_per_second"],
           "threads": run.get("encoder_threads"), "variant": variant}
    s1 = gbench_median(os.path.join(rd, "search.json"), r"GeolocKernel\w*/1/")
    s16 = gbench_median(os.path.join(rd, "search.json"), r"GeolocKernel\w*/16/")
    search = {"kernel": s1["name"].split("/")[0], "b1_ms": to_ms(s1),
              "b16_ms_per_query": to_ms(s16) / 16}
    # The single-call reference searches the store the server serves, through the bundle.
    store_path = os.path.join(rd, "store.json")
    if os.path.exists(store_path):
        served = load_json(store_path)[run.get("flat_store", "fp32")]
        search.update(kernel=f"flat_store_bench {run.get('flat_store', 'fp32')} store",
                      b1_ms=served["batch1_ms"], b16_ms_per_query=served["batch16_ms_per_query"])
        # The same single search with the store evicted from cache first: what a lone call to an
        # idle server meets (the goal keeps the in-cache figure above).
        if served.get("batch1_from_memory_ms"):
            search["b1_from_memory_ms"] = served["batch1_from_memory_ms"]
    for q in (50, 90, 99):
        if f"p{q}_ms" in enc1:
            enc[f"b1_call_p{q}_ms"] = enc1[f"p{q}_ms"]
    summary["encoder"], summary["search"] = enc, search

    # Per-image CPU cost of each stage on one core, and the pipeline limit.
    pipeline = None
    paths = {n: os.path.join(rd, n + "_1core.json") for n in ("encoder", "decode", "store")}
    if all(os.path.exists(p) for p in paths.values()):
        e1 = gbench_median(paths["encoder"], variant + r"/batch:16/")
        d1 = gbench_median(paths["decode"], r"BM_DecodePreprocess/width:1024/reduced:1")
        store = load_json(paths["store"])[run.get("flat_store", "fp32")]
        cost = {"decode_ms": to_ms(d1), "encode_ms": 1000.0 / e1["items_per_second"],
                "search_ms": store["batch16_ms_per_query"]}
        total = sum(cost.values())
        pipeline = dict(cost, total_ms=total, cores=run["nproc"],
                        limit_rps=run["nproc"] * 1000.0 / total)
    summary["pipeline"] = pipeline

    py = load_json(os.path.join(rd, "python.json"))
    py_others = [load_json(p) for p in sorted(glob.glob(os.path.join(rd, "python_t*.json")))]
    summary["python"] = py
    summary["python_other"] = py_others

    rows = []
    for c in run["concurrency"]:
        lg = load_json(os.path.join(rd, f"c{c}.json"))
        pct = {int(d["percentage"]): d["latency"] / 1e6 for d in lg.get("latencyDistribution", [])}
        before = parse_metrics(os.path.join(rd, f"metrics_c{c}_before.txt"))
        after = parse_metrics(os.path.join(rd, f"metrics_c{c}_after.txt"))
        bcount = delta(before, after, "geoloc_batch_size_count")
        bsum = delta(before, after, "geoloc_batch_size_sum")
        cpu = delta(before, after, "process_cpu_seconds_total")
        lg_cpu = None
        tpath = os.path.join(rd, f"time_c{c}.txt")
        if os.path.exists(tpath):
            with open(tpath) as f:
                nums = f.read().split()[-3:]
            try:
                lg_cpu = float(nums[0]) + float(nums[1])
            except (ValueError, IndexError):
                lg_cpu = None
        wall = lg["total"] / 1e9
        row = {
            "concurrency": c, "count": lg["count"], "rps": lg["rps"], "wall_s": wall,
            "p50_ms": pct.get(50), "p90_ms": pct.get(90), "p99_ms": pct.get(99),
            "mean_ms": lg["average"] / 1e6,
            "status": lg.get("statusCodeDistribution", {}),
            "errors": lg.get("errorDistribution", {}),
            "mean_batch": bsum / bcount if bcount else None,
            "stages": stage_means(before, after),
            "server_cpu_s": cpu, "server_cores": cpu / wall if wall else None,
            "loadgen_cpu_s": lg_cpu,
            "loadgen_cores": lg_cpu / wall if (lg_cpu is not None and wall) else None,
        }
        rows.append(row)
    summary["load"] = rows

    profile = {}
    ppath = os.path.join(rd, "profile_c1.jsonl")
    if os.path.exists(ppath):
        timings = []
        with open(ppath) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    t = json.loads(line).get("timings")
                    if t:
                        timings.append(t)
        for key in ("decode_ms", "queue_ms", "encode_ms", "search_ms", "estimate_ms", "total_ms"):
            vals = sorted(t.get(key, 0.0) for t in timings)
            if vals:
                profile[key] = {p: percentile(vals, p) for p in (50, 90, 99)}
                profile[key]["mean"] = sum(vals) / len(vals)
        profile["calls"] = len(timings)
    summary["profile_c1"] = profile
    by_c = {r["concurrency"]: r for r in rows}

    # The plain Python service with as many torch threads as geolocd has cores (else its default).
    py_equal = next((o for o in py_others if o.get("torch_threads") == run["nproc"]), py)
    ratios = {}
    if 16 in by_c:
        ratios["c16_vs_encoder_b16"] = by_c[16]["rps"] / enc["b16_images_per_s"]
        ratios["c16_vs_python"] = by_c[16]["rps"] / py_equal["images_per_s_median"]
        if pipeline:
            ratios["c16_vs_pipeline_limit"] = by_c[16]["rps"] / pipeline["limit_rps"]
            ratios["c16_server_cpu_ms_per_call"] = (
                1000.0 * by_c[16]["server_cpu_s"] / by_c[16]["count"])
    if 1 in by_c:
        ratios["c1_p99_vs_encode_plus_search"] = by_c[1]["p99_ms"] / (enc["b1_ms"] + search["b1_ms"])
        if "b1_from_memory_ms" in search:
            ratios["c1_p99_vs_encode_plus_search_from_memory"] = by_c[1]["p99_ms"] / (
                enc["b1_ms"] + search["b1_from_memory_ms"])
    summary["ratios"] = ratios
    with open(os.path.join(rd, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)

    # ---- print ----
    print(f"\n## Locate under load: {run.get('date', '')}")
    print(f"machine: {run.get('cpu', '?')}, nproc {run.get('nproc', '?')}; load average "
          f"{run.get('loadavg_start', '?')} at start, {run.get('loadavg_end', '?')} at end")
    print(f"geolocd flags: {run.get('server_flags', '')}")
    if run.get("server_env"):
        print(f"geolocd environment: {run['server_env']}")
    print(f"bundle: {run.get('bundle_vectors', '?')} x {run.get('dim', '?')} flat, "
          f"{run.get('bundle_mib', '?')} MiB on disk; server RSS after the runs "
          f"{run.get('server_rss_mib', '?')} MiB; queries: {run.get('query_images', '?')} "
          f"JPEGs 1024x768 ({run.get('query_mean_kib', '?')} KiB mean)")
    print()
    print(f"| concurrency | calls | Locate req/s | p50 ms | p90 ms | p99 ms | status | mean batch "
          f"| decode ms/img | queue ms | encode ms/batch | search ms/batch | geolocd cores | loadgen cores |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        st = ", ".join(f"{k} {v}" for k, v in sorted(r["status"].items()))
        sg = r["stages"]
        print(f"| {r['concurrency']} | {r['count']} | {r['rps']:.1f} | {fmt(r['p50_ms'])} | "
              f"{fmt(r['p90_ms'])} | {fmt(r['p99_ms'])} | {st} | {fmt(r['mean_batch'], 2)} | "
              f"{fmt(sg['decode']['mean_ms'])} | {fmt(sg['queue']['mean_ms'])} | "
              f"{fmt(sg['encode']['mean_ms'])} | {fmt(sg['search']['mean_ms'])} | "
              f"{fmt(r['server_cores'], 2)} | {fmt(r['loadgen_cores'], 2)} |")
    if profile.get("calls"):
        print()
        print(f"server-side timings of {profile['calls']} sequential calls (c = 1), ms:")
        print()
        print("| stage | p50 | p90 | p99 | mean |")
        print("| --- | --- | --- | --- | --- |")
        for key in ("decode_ms", "queue_ms", "encode_ms", "search_ms", "estimate_ms", "total_ms"):
            if key in profile:
                q = profile[key]
                print(f"| {key[:-3]} | {q[50]:.1f} | {q[90]:.1f} | {q[99]:.1f} | {q['mean']:.1f} |")
    print()
    print(f"encoder (encoder_bench {variant}, {enc['threads']} threads): batch 1 "
          f"{enc['b1_ms']:.1f} ms ({enc['b1_images_per_s']:.1f} images/s); batch 16 "
          f"{enc['b16_ms_per_batch']:.1f} ms/batch = {enc['b16_images_per_s']:.1f} images/s")
    if "b1_call_p99_ms" in enc:
        print(f"  single batch-1 calls: p50 {enc['b1_call_p50_ms']:.1f} ms, p90 "
              f"{enc['b1_call_p90_ms']:.1f} ms, p99 {enc['b1_call_p99_ms']:.1f} ms (the forward "
              f"pass's own tail: p99 / p50 = {enc['b1_call_p99_ms'] / enc['b1_call_p50_ms']:.2f})")
    print(f"search ({search['kernel']}, 100k x 512, k 100): batch 1 "
          f"{search['b1_ms']:.2f} ms/query; batch 16 {search['b16_ms_per_query']:.2f} ms/query")
    if "b1_from_memory_ms" in search:
        print(f"  batch 1 with the store evicted from cache first (a lone call to an idle server): "
              f"{search['b1_from_memory_ms']:.2f} ms/query")
    print(f"plain Python baseline: {py['images_per_s_median']:.2f} images/s "
          f"({py['torch_threads']} torch thread(s), torch's default; passes {py['images_per_s']})")
    for o in py_others:
        print(f"  with {o['torch_threads']} torch threads: {o['images_per_s_median']:.2f} images/s "
              f"(passes {o['images_per_s']})")
    if pipeline:
        print(f"CPU per image on one core ({run.get('flat_store', 'fp32')} store): decode "
              f"{pipeline['decode_ms']:.2f} + encode {pipeline['encode_ms']:.2f} + search "
              f"{pipeline['search_ms']:.2f} = {pipeline['total_ms']:.2f} ms -> pipeline limit "
              f"{pipeline['cores']} x 1000 / {pipeline['total_ms']:.2f} = "
              f"{pipeline['limit_rps']:.1f} req/s")
    print()
    print("| goal | measured | target | met |")
    print("| --- | --- | --- | --- |")
    if "c16_vs_pipeline_limit" in ratios:
        v = ratios["c16_vs_pipeline_limit"]
        print(f"| c16 Locate throughput / pipeline limit | {by_c[16]['rps']:.1f} / "
              f"{pipeline['limit_rps']:.1f} = {v:.2f} | >= {GOAL_PIPELINE} | "
              f"{'yes' if v >= GOAL_PIPELINE else 'NO'} |")
    if "c1_p99_vs_encode_plus_search" in ratios:
        v = ratios["c1_p99_vs_encode_plus_search"]
        print(f"| c1 p99 / (batch-1 encode + search) | {by_c[1]['p99_ms']:.1f} / "
              f"({enc['b1_ms']:.1f} + {search['b1_ms']:.1f}) = {v:.2f} | <= {GOAL_LATENCY} | "
              f"{'yes' if v <= GOAL_LATENCY else 'NO'} |")
    if "c1_p99_vs_encode_plus_search_from_memory" in ratios:
        v = ratios["c1_p99_vs_encode_plus_search_from_memory"]
        print(f"| c1 p99 / (batch-1 encode + search from memory) | {by_c[1]['p99_ms']:.1f} / "
              f"({enc['b1_ms']:.1f} + {search['b1_from_memory_ms']:.1f}) = {v:.2f} | (reported) | - |")
    if "c16_vs_python" in ratios:
        v = ratios["c16_vs_python"]
        print(f"| c16 Locate throughput / plain Python with {py_equal['torch_threads']} torch "
              f"thread(s) | {by_c[16]['rps']:.1f} / {py_equal['images_per_s_median']:.2f} = "
              f"{v:.2f} | (reported) | - |")
    if "c16_vs_encoder_b16" in ratios:
        print(f"| (c16 Locate throughput / encoder batch-16 throughput) | "
              f"{ratios['c16_vs_encoder_b16']:.2f} | (reported) | - |")
    if "c16_server_cpu_ms_per_call" in ratios:
        print(f"| (geolocd CPU per call at c16 / pipeline CPU per image) | "
              f"{ratios['c16_server_cpu_ms_per_call']:.1f} / {pipeline['total_ms']:.1f} = "
              f"{ratios['c16_server_cpu_ms_per_call'] / pipeline['total_ms']:.2f} | (reported) | - |")

if __name__ == "__main__":
    main()
