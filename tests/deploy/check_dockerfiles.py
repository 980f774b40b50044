#!/usr/bin/python3
"""Checks docker/Dockerfile and docker/Dockerfile.gpu statically (no Docker engine needed).

  /usr/bin/python3 tests/deploy/check_dockerfiles.py [--root REPO]

The point is that the images cannot drift from the project's dependency list:
  * the build stage copies tools/install_deps.sh and tools/packages.txt and runs the installer
    with no extra list, so the image gets exactly the packages CI gets;
  * no `apt-get install` (or apt, aptitude, dpkg -i) names a package of its own, except the
    bootstrap packages allowed below for the GPU build (downloads and nvcc's host compiler);
  * runtime stages install only lists produced by docker/resolve-runtime.sh in the build stage
    (xargs -a FILE apt-get install), copied from it;
  * runtime stages are debian bookworm(-slim), run no compiler or build tool, run as uid 10001,
    and the default (last) stage's ENTRYPOINT is geolocd;
  * .dockerignore keeps .git and build trees out and keeps in everything the build copies.
Dockerfile.gpu must also say at the top that CI does not build it, start from an nvidia/cuda
image, fetch LibTorch 1.13.1 (overridable URL) and build Faiss with -DFAISS_ENABLE_GPU=ON.
Exit status: 0 fine, 1 problems (one line each), 2 unusable input.
"""

import argparse
import fnmatch
import os
import pathlib
import re
import shlex
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

# Packages a Dockerfile may install itself, and why. Everything else comes from
# tools/packages.txt (build stages) or docker/resolve-runtime.sh (runtime stages).
BOOTSTRAP = {
    "Dockerfile": {},
    "Dockerfile.gpu": {
        "ca-certificates": "TLS roots for downloading LibTorch and Faiss",
        "curl": "downloads LibTorch and Faiss",
        "unzip": "unpacks the LibTorch zip",
        "g++-11": "nvcc 11.7's host compiler (bookworm's default GCC 12 is too new for it)",
    },
}
BUILD_TOOLS = {"cmake", "ninja", "make", "gcc", "g++", "cc", "c++", "clang", "clang++", "nvcc",
               "g++-11", "gcc-11", "build-essential"}
INSTALL_COMMANDS = (("apt-get", "install"), ("apt", "install"), ("aptitude", "install"))


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    name: str
    base: str
    index: int
    instructions: List[Instruction] = field(default_factory=list)


def parse(text: str) -> Tuple[Dict[str, str], List[Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined, comments dropped."""
    global_args: Dict[str, str] = {}
    stages: List[Stage] = []
    logical: List[Tuple[int, str]] = []
    buf, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue  # comment lines inside a continued instruction are ignored by Docker
        if not buf:
            start = number
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        logical.append((start, buf))
        buf = ""
    if buf:
        logical.append((start, buf))
    for number, line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--")]
            base = words[0] if words else ""
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name=name, base=base, index=len(stages)))
        elif not stages:
            if keyword == "ARG":
                name, _, value = args.partition("=")
                global_args[name.strip()] = value.strip().strip('"')
        else:
            if keyword == "RUN":
                # RUN's own flags (--mount=..., --network=...) are not part of the command.
                args = re.sub(r"^(--[a-z]+=\S+\s+)+", "", args)
            stages[-1].instructions.append(Instruction(keyword, args, number))
    return global_args, stages


def substitute(text: str, variables: Dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)",
                  lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), text)


def simple_commands(script: str) -> List[List[str]]:
    """A RUN script split into simple commands (at &&, ||, ;, |), each as shell words."""
    try:
        lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        tokens = script.split()
    commands, current = [], []
    for tok in tokens:
        if tok in ("&&", "||", ";", "|", "&", "(", ")", ";;"):
            if current:
                commands.append(current)
            current = []
        else:
            current.append(tok)
    if current:
        commands.append(current)
    return commands


def read_packages(path: pathlib.Path) -> Set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(line)
    return names


class DockerfileChecker:
    def __init__(self, root: pathlib.Path, name: str, text: str, packages: Set[str]):
        self.root = root
        self.name = name
        self.text = text
        self.packages = packages
        self.errors: List[str] = []
        self.args, self.stages = parse(text)
        self.bootstrap = BOOTSTRAP.get(name, {})

    def fail(self, message: str, line: Optional[int] = None) -> None:
        where = f"{self.name}:{line}" if line else self.name
        self.errors.append(f"FAIL {where}: {message}")

    def stage(self, name: str) -> Optional[Stage]:
        return next((s for s in self.stages if s.name == name), None)

    def base_of(self, stage: Stage) -> str:
        return substitute(stage.base, self.args)

    def chain(self, stage: Stage) -> List[Stage]:
        """The stage and the stages it is built FROM, nearest first."""
        out = [stage]
        while True:
            parent = self.stage(out[-1].base)
            if parent is None or parent in out:
                return out
            out.append(parent)

    def run(self) -> List[str]:
        if not self.stages:
            self.fail("no FROM")
            return self.errors
        build = self.stage("build")
        if build is None:
            self.fail("no stage named build")
            return self.errors
        self.check_build_stage(build)
        produced = self.resolved_lists(build)
        for stage in self.stages:
            for ins in stage.instructions:
                if ins.keyword == "RUN":
                    self.check_installs(stage, ins, produced)
        for stage in (s for s in self.stages if s.index > build.index):
            self.check_runtime_stage(stage, build)
        self.check_final_stage(self.stages[-1])
        if self.name == "Dockerfile.gpu":
            self.check_gpu()
        return self.errors

    # -- the build stage -------------------------------------------------------------------------
    def check_build_stage(self, build: Stage) -> None:
        base = self.base_of(build)
        if not re.fullmatch(r"debian:bookworm", base):
            self.fail(f"build stage is FROM {base}, not debian:bookworm (the distribution "
                      "tools/packages.txt lists packages for)")
        copied = set()
        for ins in build.instructions:
            if ins.keyword in ("COPY", "ADD") and "--from" not in ins.args:
                copied.update(w for w in ins.args.split()[:-1] if not w.startswith("--"))
        for needed in ("tools/install_deps.sh", "tools/packages.txt"):
            if needed not in copied and "." not in copied:
                self.fail(f"build stage does not COPY {needed}")
        if not ({"tools/install_deps.sh", "tools/packages.txt"} <= copied):
            self.fail("build stage must COPY tools/install_deps.sh and tools/packages.txt before "
                      "running the installer (its own cached layer)")
        calls = [(ins, cmd) for ins in build.instructions if ins.keyword == "RUN"
                 for cmd in simple_commands(ins.args)
                 if cmd and cmd[0].endswith("install_deps.sh")]
        if not calls:
            self.fail("build stage never runs tools/install_deps.sh")
        for ins, cmd in calls:
            if cmd[0] not in ("tools/install_deps.sh", "./tools/install_deps.sh"):
                self.fail(f"runs {cmd[0]}, not the repository's tools/install_deps.sh", ins.line)
            if len(cmd) > 1:
                self.fail(f"install_deps.sh gets extra package lists {cmd[1:]}; "
                          "tools/packages.txt is the single list", ins.line)

    def resolved_lists(self, build: Stage) -> Set[str]:
        """Files written by docker/resolve-runtime.sh --packages FILE in the build stage."""
        out = set()
        for ins in build.instructions:
            if ins.keyword != "RUN":
                continue
            for cmd in simple_commands(ins.args):
                if cmd and cmd[0].endswith("resolve-runtime.sh") and "--packages" in cmd:
                    i = cmd.index("--packages")
                    if i + 1 < len(cmd):
                        out.add(cmd[i + 1])
        if not out:
            self.fail("the build stage never runs docker/resolve-runtime.sh --packages FILE")
        return out

    # -- package installs anywhere ---------------------------------------------------------------
    def check_installs(self, stage: Stage, ins: Instruction, produced: Set[str]) -> None:
        for cmd in simple_commands(ins.args):
            words = cmd
            from_file = None
            if words and words[0] == "xargs":
                # xargs [-a FILE] [options] apt-get install ...
                if "-a" in words:
                    i = words.index("-a")
                    from_file = words[i + 1] if i + 1 < len(words) else None
                words = [w for w in words[1:] if not w.startswith("-")]
                words = words[words.index(from_file) + 1:] if from_file in words else words
            if len(words) >= 2 and words[0] == "dpkg" and "-i" in words:
                self.fail(f"dpkg -i installs packages by hand in stage {stage.name}", ins.line)
                continue
            if not any(len(words) >= 2 and words[0] == tool and install in words
                       for tool, install in INSTALL_COMMANDS):
                continue
            names = [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
            if cmd[0] == "xargs":
                if from_file is None:
                    self.fail("xargs apt-get install without -a FILE", ins.line)
                    continue
                listed = any(from_file == p or os.path.basename(from_file) == os.path.basename(p)
                             for p in produced)
                if not listed:
                    self.fail(f"installs packages listed in {from_file}, which "
                              "docker/resolve-runtime.sh did not write", ins.line)
                elif stage.name != "build" and not self.copies_from_build(stage, from_file):
                    self.fail(f"stage {stage.name} installs {from_file} without copying it "
                              "from the build stage", ins.line)
            for name in names:
                if name.startswith("$"):
                    self.fail(f"apt-get install takes package names from {name}; name them in "
                              "tools/packages.txt instead", ins.line)
                elif name in self.packages:
                    self.fail(f"installs {name}, which is in tools/packages.txt: it must come "
                              "from tools/install_deps.sh, not a second list", ins.line)
                elif name not in self.bootstrap:
                    self.fail(f"installs {name}, which is neither in tools/packages.txt nor an "
                              "allowed bootstrap package (tests/deploy/check_dockerfiles.py)",
                              ins.line)

    def copies_from_build(self, stage: Stage, path: str) -> bool:
        for s in self.chain(stage):
            for ins in s.instructions:
                if ins.keyword == "COPY" and "--from=build" in ins.args and \
                        os.path.basename(path) in ins.args:
                    return True
        return False

    # -- runtime stages --------------------------------------------------------------------------
    def check_runtime_stage(self, stage: Stage, build: Stage) -> None:
        root_base = self.base_of(self.chain(stage)[-1])
        if self.stage(stage.base) is None and not re.fullmatch(r"debian:bookworm(-slim)?",
                                                              root_base):
            self.fail(f"runtime stage {stage.name} is FROM {root_base}, not debian:bookworm-slim "
                      "(the binaries are built against bookworm's libraries)")
        for ins in stage.instructions:
            if ins.keyword == "RUN":
                for cmd in simple_commands(ins.args):
                    if cmd and os.path.basename(cmd[0]) in BUILD_TOOLS:
                        self.fail(f"runtime stage {stage.name} runs {cmd[0]}: no compilers or "
                                  "build tools after the build stage", ins.line)
            if ins.keyword == "COPY" and "--from=build" in ins.args:
                sources = [w for w in ins.args.split()[:-1] if not w.startswith("--")]
                for src in sources:
                    if src.rstrip("/") in ("/", "/src", ".", "/build"):
                        self.fail(f"runtime stage {stage.name} copies {src} from the build "
                                  "stage: copy only installed files", ins.line)

    def effective(self, stage: Stage, keyword: str) -> Optional[Instruction]:
        for s in self.chain(stage):
            for ins in reversed(s.instructions):
                if ins.keyword == keyword:
                    return ins
        return None

    def check_final_stage(self, final: Stage) -> None:
        user = self.effective(final, "USER")
        if user is None or user.args.split(":")[0] != "10001":
            self.fail(f"the default stage {final.name} does not run as USER 10001 (got "
                      f"{user.args if user else 'root'})")
        entry = self.effective(final, "ENTRYPOINT")
        first = None
        if entry is not None and entry.args.startswith("["):
            try:
                import json
                first = json.loads(entry.args)[0]
            except (ValueError, IndexError):
                first = None
        if first is None or not first.endswith("geolocd"):
            self.fail("the default (last) stage's ENTRYPOINT is not geolocd in exec form "
                      "(exec form keeps geolocd PID 1, receiving SIGTERM and SIGHUP)")
        for stage in self.stages:
            if stage.name == "build":
                continue
            u = self.effective(stage, "USER")
            if u is not None and u.args.split(":")[0] in ("0", "root"):
                self.fail(f"stage {stage.name} ends as root")

    # -- GPU -------------------------------------------------------------------------------------
    def arg_default(self, name: str) -> str:
        """The default of ARG name, global or in any stage."""
        if name in self.args:
            return self.args[name]
        for stage in self.stages:
            for ins in stage.instructions:
                if ins.keyword == "ARG" and ins.args.partition("=")[0].strip() == name:
                    return ins.args.partition("=")[2].strip().strip('"')
        return ""

    def check_gpu(self) -> None:
        head = "\n".join(self.text.splitlines()[:12])
        if "NOT BUILT BY CI" not in head:
            self.fail("the top of Dockerfile.gpu must say it is NOT BUILT BY CI")
        cuda = [s for s in self.stages if self.base_of(s).startswith("nvidia/cuda:")]
        if not cuda:
            self.fail("no stage FROM an nvidia/cuda image (the CUDA toolkit and cuDNN)")
        url = self.arg_default("LIBTORCH_URL")
        if "download.pytorch.org" not in url or "1.13.1" not in url:
            self.fail(f"ARG LIBTORCH_URL default {url!r} is not pytorch.org's LibTorch 1.13.1")
        if "-DFAISS_ENABLE_GPU=ON" not in self.text:
            self.fail("Faiss is not built with -DFAISS_ENABLE_GPU=ON")


def read_dockerignore(path: pathlib.Path) -> List[str]:
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.strip().startswith("#")]


def ignored(patterns: List[str], rel: str) -> bool:
    """Docker's rule, simplified: the last matching pattern wins; a pattern also covers
    everything below a matching directory."""
    result = False
    parts = rel.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        negate = pattern.startswith("!")
        p = pattern[1:] if negate else pattern
        p = p.strip("/")
        if any(fnmatch.fnmatchcase(prefix, p) or
               (p.startswith("**/") and fnmatch.fnmatchcase(prefix.split("/")[-1], p[3:]))
               for prefix in prefixes):
            result = not negate
    return result


def check_dockerignore(root: pathlib.Path, patterns: List[str]) -> List[str]:
    errors = []
    if not patterns:
        return ["FAIL .dockerignore: missing or empty"]
    for must in (".git", "build", "build-deploy", "build-foo"):
        if not ignored(patterns, must):
            errors.append(f"FAIL .dockerignore: does not exclude {must}")
    for keep in ("CMakeLists.txt", "proto/geoloc/v1/geoloc.proto", "core", "server", "client",
                 "tools/install_deps.sh", "tools/packages.txt", "tools/export_model.py",
                 "tools/python/geoloc_models.py", "docker/resolve-runtime.sh",
                 "docker/python-runtime-files.py"):
        if ignored(patterns, keep):
            errors.append(f"FAIL .dockerignore: excludes {keep}, which the image build needs")
    return errors


def check_repository(root: pathlib.Path) -> List[str]:
    errors: List[str] = []
    packages_file = root / "tools" / "packages.txt"
    packages = read_packages(packages_file)
    for script in ("docker/resolve-runtime.sh", "docker/python-runtime-files.py",
                   "tools/install_deps.sh"):
        if not os.access(root / script, os.X_OK):
            errors.append(f"FAIL {script}: missing or not executable (the build stage runs it)")
    for name in ("Dockerfile", "Dockerfile.gpu"):
        path = root / "docker" / name
        if not path.exists():
            errors.append(f"FAIL docker/{name}: missing")
            continue
        errors += DockerfileChecker(root, name, path.read_text(encoding="utf-8"), packages).run()
    errors += check_dockerignore(root, read_dockerignore(root / ".dockerignore"))
    return errors


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default=str(pathlib.Path(__file__).resolve().parents[2]),
                   help="repository root")
    args = p.parse_args(argv)
    root = pathlib.Path(args.root)
    try:
        errors = check_repository(root)
    except OSError as e:
        print(f"check_dockerfiles: {e}", file=sys.stderr)
        return 2
    for e in errors:
        print(e)
    if errors:
        print(f"check_dockerfiles: {len(errors)} problem(s)")
        return 1
    print("check_dockerfiles: docker/Dockerfile, docker/Dockerfile.gpu and .dockerignore OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
