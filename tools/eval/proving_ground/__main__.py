"""Command line of the proving-ground protocol; tools/proving_ground.sh runs it (see there)."""
import argparse
import os
import sys

from .protocol import PRESET_SETTINGS, Protocol, ProtocolError, default_steps


def main(argv=None):
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    p = argparse.ArgumentParser(
        prog="proving_ground.sh",
        description="Runs the proving-ground protocol on one synthetic world: generate, export the "
                    "model, index, probe, cells and classifiers on train, tune on val, report on "
                    "test (docs/PROVING_GROUND.md).")
    p.add_argument("--preset", default="tiny", choices=sorted(PRESET_SETTINGS))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--work", help="working directory [build/proving_ground/PRESET-seedSEED]")
    p.add_argument("--build", default=os.path.join(root, "build"), help="the CMake build directory")
    p.add_argument("--model", help="a model archive to evaluate instead of the random-weight demo "
                                   "model (skips the export)")
    p.add_argument("--steps", help="comma-separated steps to run (default: all, in order)")
    p.add_argument("--from", dest="from_step", help="run this step and every later one")
    p.add_argument("--threads", type=int, default=0, help="geoloc-synth threads (0: all cores)")
    p.add_argument("--retrieve", default="val,calib,test",
                   help="query splits the retrieve step encodes (the calibrate step needs calib)")
    p.add_argument("--abstain_below", type=float, default=0.13,
                   help="the abstention threshold on P(localizable) the coverage step reports "
                        "(default: chosen on the medium world's calib split to answer about half "
                        "the photos; docs/CALIBRATION.md)")
    p.add_argument("--no_regional_term", action="store_true",
                   help="the calibrate step fits without the regional KDE term (geoloc-eval "
                        "calibrate --noregional_term; docs/CALIBRATION.md), as calibrations "
                        "written before it")
    p.add_argument("--publish", help="also copy the report and its plots into this directory "
                                     "(e.g. docs)")
    args = p.parse_args(argv)
    steps = default_steps()
    names = [s.name for s in steps]
    only = None
    if args.steps:
        only = args.steps.split(",")
    if args.from_step:
        if args.from_step not in names:
            p.error(f"--from: unknown step {args.from_step} (steps: {', '.join(names)})")
        only = names[names.index(args.from_step):]
    for name in only or []:
        if name not in names:
            p.error(f"unknown step {name} (steps: {', '.join(names)})")
    for split in args.retrieve.split(","):
        if split not in ("val", "calib", "test"):
            p.error(f"--retrieve: {split!r} is not a query split (val, calib, test)")
    settings = {
        "root": root, "preset": args.preset, "seed": args.seed, "build": args.build,
        "work": args.work or os.path.join(root, "build", "proving_ground",
                                          f"{args.preset}-seed{args.seed}"),
        "model": args.model, "threads": args.threads, "publish": args.publish,
        "retrieve_splits": tuple(args.retrieve.split(",")),
        "abstain_below": args.abstain_below,
        "regional_term": not args.no_regional_term,
        "command": " ".join(["tools/proving_ground.sh"] + (argv if argv is not None else sys.argv[1:])),
    }
    try:
        ctx = Protocol(settings).run(steps, only)
    except ProtocolError as e:
        print(f"proving_ground: {e}", file=sys.stderr)
        return 1
    print(f"proving_ground: done; report in {ctx.path('report', 'report.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
