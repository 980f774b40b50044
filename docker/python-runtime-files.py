#!/usr/bin/python3
"""Lists the files a Python script needs at run time: the interpreter and every module it loads.

  /usr/bin/python3 docker/python-runtime-files.py OUT SCRIPT [ARG...]

Runs SCRIPT with ARGs (as `python3 SCRIPT ARG...` would, via runpy), then writes to OUT the
interpreter's path and the file of every module loaded by then, one per line. docker/Dockerfile
runs tools/export_model.py --demo this way in the build stage and hands OUT to
docker/resolve-runtime.sh --files-from, which turns the files into the Debian packages the tools
image installs (python3-torch, python3-torchvision, ...). Running the script, rather than reading
its import lines, also catches modules imported lazily inside functions on that path.
Files under the script's own directory are left out: they are copied into the image as they are.
Exit status: the script's (non-zero: OUT is not written).
"""

import os
import runpy
import sys


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out, script = sys.argv[1], sys.argv[2]
    script_dir = os.path.dirname(os.path.abspath(script))
    sys.argv = sys.argv[2:]
    sys.path.insert(0, script_dir)
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:  # the script's own exit
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    if code != 0:
        print(f"python-runtime-files: {script} exited with {code}", file=sys.stderr)
        return code
    files = {os.path.realpath(sys.executable), sys.executable}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path or not os.path.exists(path):
            continue
        path = os.path.abspath(path)
        # The project's own files travel with the image; the rest must come from packages.
        if path.startswith(os.path.dirname(script_dir) + os.sep):
            continue
        files.add(path)
    with open(out, "w", encoding="utf-8") as f:
        f.write("".join(p + "\n" for p in sorted(files)))
    print(f"python-runtime-files: {len(files)} files loaded by {script}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
