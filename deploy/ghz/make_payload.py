#!/usr/bin/env python3
"""Turns photos into ghz request payloads for geoloc.v1.Geolocator Locate or Explain.

ghz sends JSON and converts it to protobuf with the method's descriptor; `bytes` fields such as
LocateRequest.image travel as base64 strings (protobuf's JSON mapping). One image gives one JSON
object; several give an array, which ghz sends round-robin, one element per call.

  deploy/ghz/make_payload.py photo.jpg                       # -> deploy/ghz/payloads/locate.json
  deploy/ghz/make_payload.py --explain --peak 0 photos/      # -> deploy/ghz/payloads/explain.json
  deploy/ghz/make_payload.py --k 100 --levels 10,13 --token-file token.txt photos/*.jpg

Also writes metadata.json beside the payload: {"authorization": "Bearer <token>"} from
--token-file (else $GEOLOC_TOKEN), or {} without a token; mode 0600, and payloads/ is ignored by
git and docker. The ghz configs in this directory read both files.
Only the standard library is used. Exit status: 0 written, 1 unreadable or unsuitable image,
2 usage error.
"""

import argparse
import base64
import json
import os
import pathlib
import sys
from typing import Dict, List, Optional

HERE = pathlib.Path(__file__).resolve().parent
# geolocd decodes these (core/model/image_decoder.h); anything else is INVALID_ARGUMENT.
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
# geolocd's --max_message_bytes default: larger requests are refused with RESOURCE_EXHAUSTED.
DEFAULT_MAX_BYTES = 16 << 20


def image_kind(data: bytes) -> Optional[str]:
    """The image format from its magic bytes, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"BM"):
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def collect(paths: List[str]) -> List[pathlib.Path]:
    """Files as given, and the images directly inside given directories, sorted."""
    out: List[pathlib.Path] = []
    for p in map(pathlib.Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir()
                              if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES))
        else:
            out.append(p)
    return out


def locate_options(args: argparse.Namespace) -> Dict[str, object]:
    options: Dict[str, object] = {}
    if args.k:
        options["k"] = args.k
    if args.levels:
        options["cell_levels"] = [int(v) for v in args.levels.split(",") if v.strip()]
    if args.neighbors:
        options["return_neighbors"] = True
    return options


def request_for(data: bytes, args: argparse.Namespace) -> Dict[str, object]:
    request: Dict[str, object] = {"image": base64.b64encode(data).decode("ascii")}
    options = locate_options(args)
    if options:
        request["options"] = options
    if args.explain:
        # ExplainRequest's target oneof; unset means the top peak.
        if args.peak is not None:
            request["peak_index"] = args.peak
        elif args.neighbor is not None:
            request["neighbor_id"] = str(args.neighbor)  # int64 is a JSON string in protobuf
        elif args.cell is not None:
            request["cell_token"] = args.cell
        if args.no_overlay:
            request["return_overlay"] = False
    return request


def read_token(token_file: Optional[str]) -> Optional[str]:
    if token_file:
        words = pathlib.Path(token_file).read_text(encoding="utf-8").split()
        if len(words) != 1:
            raise ValueError(f"{token_file}: expected exactly one token, found {len(words)} words")
        return words[0]
    token = os.environ.get("GEOLOC_TOKEN", "").strip()
    return token or None


def write_private(path: pathlib.Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="make_payload.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="+", help="image files, or directories of images")
    p.add_argument("-o", "--output", help="payload file (default payloads/locate.json or "
                   "payloads/explain.json next to this script)")
    p.add_argument("--explain", action="store_true", help="ExplainRequest instead of LocateRequest")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--peak", type=int, help="explain: peak index (0 = best)")
    target.add_argument("--neighbor", type=int, help="explain: database image id")
    target.add_argument("--cell", help="explain: classifier S2 cell token")
    p.add_argument("--no-overlay", action="store_true", help="explain: skip the PNG overlay")
    p.add_argument("--k", type=int, help="neighbours to retrieve (LocateOptions.k)")
    p.add_argument("--levels", help="S2 levels for cell confidences, e.g. 10,13")
    p.add_argument("--neighbors", action="store_true", help="return the neighbours")
    p.add_argument("--token-file", help="bearer token file (else $GEOLOC_TOKEN)")
    p.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES,
                   help="refuse images larger than this (geolocd --max_message_bytes)")
    args = p.parse_args(argv)
    if not args.explain and (args.peak is not None or args.neighbor is not None
                             or args.cell is not None or args.no_overlay):
        p.error("--peak, --neighbor, --cell and --no-overlay need --explain")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    files = collect(args.images)
    if not files:
        print("make_payload: no images found", file=sys.stderr)
        return 1
    requests = []
    for f in files:
        try:
            data = f.read_bytes()
        except OSError as e:
            print(f"make_payload: {f}: {e.strerror}", file=sys.stderr)
            return 1
        if image_kind(data) is None:
            print(f"make_payload: {f}: not a JPEG, PNG, WebP, BMP or TIFF file", file=sys.stderr)
            return 1
        if len(data) > args.max_bytes:
            print(f"make_payload: {f}: {len(data)} bytes is over --max-bytes {args.max_bytes} "
                  "(geolocd would answer RESOURCE_EXHAUSTED)", file=sys.stderr)
            return 1
        requests.append(request_for(data, args))
    try:
        token = read_token(args.token_file)
    except (OSError, ValueError) as e:
        print(f"make_payload: token: {e}", file=sys.stderr)
        return 1

    out = pathlib.Path(args.output) if args.output else (
        HERE / "payloads" / ("explain.json" if args.explain else "locate.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = requests[0] if len(requests) == 1 else requests
    # Payloads hold the caller's photos: private like the token.
    write_private(out, json.dumps(payload) + "\n")
    metadata = {"authorization": f"Bearer {token}"} if token else {}
    write_private(out.parent / "metadata.json", json.dumps(metadata) + "\n")
    kind = "ExplainRequest" if args.explain else "LocateRequest"
    print(f"make_payload: {len(requests)} {kind}(s) -> {out}; metadata "
          f"{'with' if token else 'without'} a token -> {out.parent / 'metadata.json'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
