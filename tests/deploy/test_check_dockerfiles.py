#!/usr/bin/python3
"""Tests of check_dockerfiles.py: the real Dockerfiles pass, and each way of drifting from
tools/packages.txt (or of weakening the runtime image) is caught.

  /usr/bin/python3 tests/deploy/test_check_dockerfiles.py [-v]
"""

import pathlib
import re
import subprocess
import sys
import unittest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import check_dockerfiles as cd  # noqa: E402

CPU = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
GPU = (ROOT / "docker" / "Dockerfile.gpu").read_text(encoding="utf-8")
PACKAGES = cd.read_packages(ROOT / "tools" / "packages.txt")


def errors(text, name="Dockerfile"):
    return cd.DockerfileChecker(ROOT, name, text, PACKAGES).run()


def insert_after(text, anchor, new_lines):
    """Inserts lines after the first line that starts with anchor."""
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith(anchor))
    return "\n".join(lines[:i + 1] + new_lines.splitlines() + lines[i + 1:]) + "\n"


class DockerfileTest(unittest.TestCase):
    def assertFails(self, errs, pattern):
        self.assertTrue(any(re.search(pattern, e) for e in errs),
                        f"no failure matching {pattern!r} in:\n" + "\n".join(errs))

    def test_real_files_pass(self):
        r = subprocess.run([sys.executable, str(HERE / "check_dockerfiles.py")],
                           capture_output=True, text=True, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_packages_file_is_the_real_list(self):
        self.assertIn("libgrpc++-dev", PACKAGES)
        self.assertIn("yamllint", PACKAGES)

    def test_cpu_dockerfile_installs_nothing_by_name(self):
        # The CPU image has no bootstrap allowance at all.
        self.assertEqual(cd.BOOTSTRAP["Dockerfile"], {})
        for cmd in (c for _, stages in [cd.parse(CPU)] for s in stages
                    for ins in s.instructions if ins.keyword == "RUN"
                    for c in cd.simple_commands(ins.args)):
            if "install" in cmd and cmd[0] in ("apt-get", "apt"):
                self.fail(f"apt-get install outside xargs -a: {cmd}")

    def test_listed_package_installed_by_hand(self):
        text = insert_after(CPU, "FROM debian:${DEBIAN_RELEASE}-slim AS base",
                            "RUN apt-get update && apt-get install -y libtorch-dev")
        self.assertFails(errors(text), r"installs libtorch-dev, which is in tools/packages.txt")

    def test_runtime_package_installed_by_hand(self):
        text = insert_after(CPU, "FROM debian:${DEBIAN_RELEASE}-slim AS base",
                            "RUN apt-get install -y --no-install-recommends libtorch1.13 \\\n"
                            "    && rm -rf /var/lib/apt/lists/*")
        self.assertFails(errors(text), r"installs libtorch1.13, which is neither")

    def test_package_list_in_a_variable(self):
        text = insert_after(CPU, "FROM debian:${DEBIAN_RELEASE} AS build",
                            "ARG EXTRA=\"vim\"\nRUN apt-get install -y $EXTRA")
        self.assertFails(errors(text), r"takes package names from \$EXTRA")

    def test_dpkg_install(self):
        text = insert_after(CPU, "FROM debian:${DEBIAN_RELEASE}-slim AS base",
                            "RUN dpkg -i /tmp/libfoo.deb")
        self.assertFails(errors(text), r"dpkg -i installs packages by hand")

    def test_installer_not_run(self):
        text = CPU.replace("RUN tools/install_deps.sh && rm -rf /var/lib/apt/lists/*",
                           "RUN apt-get update")
        self.assertFails(errors(text), r"never runs tools/install_deps.sh")

    def test_installer_with_a_second_list(self):
        text = CPU.replace("RUN tools/install_deps.sh &&", "RUN tools/install_deps.sh extra.txt &&")
        self.assertFails(errors(text), r"extra package lists \['extra.txt'\]")

    def test_list_not_copied(self):
        text = CPU.replace("COPY tools/install_deps.sh tools/packages.txt tools/",
                           "COPY tools/install_deps.sh tools/")
        self.assertFails(errors(text), r"must COPY tools/install_deps.sh and tools/packages.txt")

    def test_build_stage_not_bookworm(self):
        text = CPU.replace("FROM debian:${DEBIAN_RELEASE} AS build", "FROM ubuntu:22.04 AS build")
        self.assertFails(errors(text), r"build stage is FROM ubuntu:22.04")

    def test_runtime_list_not_from_the_resolver(self):
        text = CPU.replace("xargs -a /tmp/runtime-packages.txt", "xargs -a /tmp/my-list.txt")
        self.assertFails(errors(text), r"/tmp/my-list.txt, which docker/resolve-runtime.sh did "
                                       r"not write")

    def test_resolver_never_run(self):
        text = re.sub(r"docker/resolve-runtime.sh", "true", CPU)
        self.assertFails(errors(text), r"never runs docker/resolve-runtime.sh")

    def test_compiler_in_runtime(self):
        text = insert_after(CPU, "FROM base AS geolocd", "RUN gcc --version")
        self.assertFails(errors(text), r"runtime stage geolocd runs gcc")

    def test_compiler_behind_run_flags(self):
        text = insert_after(CPU, "FROM base AS geolocd",
                            "RUN --mount=type=cache,target=/root/.cache/ccache g++ -c x.cc")
        self.assertFails(errors(text), r"runtime stage geolocd runs g\+\+")

    def test_source_tree_copied_into_runtime(self):
        text = insert_after(CPU, "FROM base AS geolocd", "COPY --from=build /src /src")
        self.assertFails(errors(text), r"copies /src from the build stage")

    def test_runtime_on_another_distribution(self):
        text = CPU.replace("FROM debian:${DEBIAN_RELEASE}-slim AS base", "FROM alpine:3.19 AS base")
        self.assertFails(errors(text), r"runtime stage base is FROM alpine:3.19")

    def test_root_user(self):
        text = CPU.rstrip("\n") + "\nUSER root\n"
        self.assertFails(errors(text), r"does not run as USER 10001")

    def test_entrypoint_not_geolocd(self):
        text = CPU.replace('ENTRYPOINT ["/opt/geoloc/bin/geolocd"]', 'ENTRYPOINT ["/bin/bash"]')
        self.assertFails(errors(text), r"ENTRYPOINT is not geolocd")

    def test_shell_form_entrypoint(self):
        text = CPU.replace('ENTRYPOINT ["/opt/geoloc/bin/geolocd"]',
                           "ENTRYPOINT /opt/geoloc/bin/geolocd")
        self.assertFails(errors(text), r"ENTRYPOINT is not geolocd in exec form")

    # -- GPU -------------------------------------------------------------------------------------
    def test_gpu_passes(self):
        self.assertEqual(errors(GPU, "Dockerfile.gpu"), [])

    def test_gpu_bootstrap_only(self):
        text = GPU.replace("ca-certificates curl unzip g++-11", "ca-certificates curl unzip g++-11 vim")
        self.assertFails(errors(text, "Dockerfile.gpu"), r"installs vim, which is neither")

    def test_gpu_bootstrap_cannot_shadow_the_list(self):
        text = GPU.replace("ca-certificates curl unzip g++-11", "ca-certificates curl unzip cmake")
        self.assertFails(errors(text, "Dockerfile.gpu"), r"installs cmake, which is in "
                                                         r"tools/packages.txt")

    def test_gpu_marker(self):
        text = GPU.replace("NOT BUILT BY CI", "Built by CI")
        self.assertFails(errors(text, "Dockerfile.gpu"), r"NOT BUILT BY CI")

    def test_gpu_libtorch_version(self):
        text = GPU.replace("1.13.1%2Bcu117.zip", "2.1.0%2Bcu121.zip")
        self.assertFails(errors(text, "Dockerfile.gpu"), r"not pytorch.org's LibTorch 1.13.1")

    def test_gpu_faiss(self):
        text = GPU.replace("-DFAISS_ENABLE_GPU=ON", "-DFAISS_ENABLE_GPU=OFF")
        self.assertFails(errors(text, "Dockerfile.gpu"), r"FAISS_ENABLE_GPU=ON")

    def test_gpu_cuda_base(self):
        text = GPU.replace("ARG CUDA_IMAGE=nvidia/cuda:", "ARG CUDA_IMAGE=example/cuda:")
        self.assertFails(errors(text, "Dockerfile.gpu"), r"no stage FROM an nvidia/cuda image")

    # -- .dockerignore ---------------------------------------------------------------------------
    def test_dockerignore_real(self):
        self.assertEqual(cd.check_dockerignore(ROOT, cd.read_dockerignore(ROOT / ".dockerignore")),
                         [])

    def test_dockerignore_must_exclude_git_and_builds(self):
        errs = cd.check_dockerignore(ROOT, ["out"])
        self.assertFails(errs, r"does not exclude \.git")
        self.assertFails(errs, r"does not exclude build-deploy")

    def test_dockerignore_must_keep_the_sources(self):
        errs = cd.check_dockerignore(ROOT, [".git", "build*", "tools"])
        self.assertFails(errs, r"excludes tools/packages.txt")
        errs = cd.check_dockerignore(ROOT, [".git", "build*", "**/*.py"])
        self.assertFails(errs, r"excludes tools/export_model.py")

    def test_dockerignore_negation(self):
        self.assertFalse(cd.ignored(["tools", "!tools/packages.txt"], "tools/packages.txt"))
        self.assertTrue(cd.ignored(["tools", "!tools/packages.txt"], "tools/install_deps.sh"))

    def test_parse_joins_continuations_and_drops_comments(self):
        args, stages = cd.parse("ARG A=1\nFROM x AS s\n# c\nRUN a \\\n  # inner\n  && b\n")
        self.assertEqual(args, {"A": "1"})
        self.assertEqual([i.args for i in stages[0].instructions], ["a  && b"])


if __name__ == "__main__":
    unittest.main()
