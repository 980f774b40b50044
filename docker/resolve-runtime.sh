#!/usr/bin/env bash
# Resolves the shared libraries that built binaries load to the Debian packages that own them, so
# a runtime image can install exactly those packages instead of a hand-maintained list that drifts
# from tools/packages.txt.
#
# Usage:
#   docker/resolve-runtime.sh --packages OUT [--skip-prefix DIR]... [--bundle-prefix DIR
#                             --bundle-dir DIR]... [--allow-missing SONAME]... BINARY...
#
#   --packages OUT        write the owning packages, sorted and unique, one per line (the runtime
#                         stage runs `xargs -a OUT apt-get install`)
#   --skip-prefix DIR     libraries under DIR ship with the binaries (e.g. the install prefix)
#   --bundle-prefix DIR   libraries under DIR that no package owns are copied, under their soname,
#                         into --bundle-dir (the GPU image: CUDA runtime libraries from the toolkit)
#   --allow-missing NAME  a library ldd cannot find that the host supplies at run time (the NVIDIA
#                         driver's libcuda.so.1 through the container toolkit)
#   --files-from LIST     also resolve the plain files listed in LIST, one path per line (the
#                         Python interpreter and the modules a script loads, as listed by
#                         docker/python-runtime-files.py)
#
# How: `ldd` lists every library a binary loads (transitively); each path, its canonical path and
# its /usr-merged twin (bookworm ships some libraries under /lib, some under /usr/lib) are looked
# up with one `dpkg-query -S` call. Alternatives (libblas.so.3 -> OpenBLAS) resolve through the
# canonical path to the package that provides them. Anything else is an error: an image that
# silently lacks a library fails at run time, far from the cause.
# Exit status: 0 success, 1 a library cannot be resolved, 2 usage error.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

packages_out=""
bundle_dir=""
skip_prefixes=()
bundle_prefixes=()
allow_missing=()
file_lists=()
binaries=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --packages) packages_out="${2:?}"; shift 2 ;;
    --skip-prefix) skip_prefixes+=("$(realpath -m "${2:?}")"); shift 2 ;;
    --bundle-prefix) bundle_prefixes+=("$(realpath -m "${2:?}")"); shift 2 ;;
    --bundle-dir) bundle_dir="${2:?}"; shift 2 ;;
    --allow-missing) allow_missing+=("${2:?}"); shift 2 ;;
    --files-from) file_lists+=("${2:?}"); shift 2 ;;
    -h|--help) usage ;;
    --) shift; binaries+=("$@"); break ;;
    -*) echo "resolve-runtime: unknown option $1" >&2; usage ;;
    *) binaries+=("$1"); shift ;;
  esac
done
[[ -n "$packages_out" && $((${#binaries[@]} + ${#file_lists[@]})) -gt 0 ]] || usage
if [[ ${#bundle_prefixes[@]} -gt 0 && -z "$bundle_dir" ]]; then
  echo "resolve-runtime: --bundle-prefix needs --bundle-dir" >&2; exit 2
fi

under() {  # under PATH PREFIX...: true when PATH lies below one of the prefixes
  local path="$1"; shift
  local prefix
  for prefix in "$@"; do
    [[ "$path" == "$prefix"/* ]] && return 0
  done
  return 1
}

status=0
declare -A lib_soname=()   # path as ldd printed it -> soname
for list in ${file_lists[@]+"${file_lists[@]}"}; do
  while IFS= read -r f; do
    [[ -z "$f" ]] && continue
    if [[ ! -e "$f" ]]; then
      echo "resolve-runtime: $list names $f, which does not exist" >&2; exit 1
    fi
    lib_soname["$f"]="$(basename "$f")"
  done <"$list"
done
for bin in ${binaries[@]+"${binaries[@]}"}; do
  if [[ ! -f "$bin" ]]; then
    echo "resolve-runtime: $bin: no such file" >&2; exit 1
  fi
  if ! out="$(LC_ALL=C ldd "$bin" 2>&1)"; then
    # Scripts and static binaries need no libraries.
    if grep -qE 'not a dynamic executable|statically linked' <<<"$out"; then continue; fi
    echo "resolve-runtime: ldd $bin failed: $out" >&2; exit 1
  fi
  while read -r line; do
    if [[ "$line" =~ ^([^[:space:]]+)[[:space:]]+=\>[[:space:]]+not\ found ]]; then
      name="${BASH_REMATCH[1]}"
      allowed=0
      for a in ${allow_missing[@]+"${allow_missing[@]}"}; do
        [[ "$a" == "$name" ]] && allowed=1
      done
      if [[ $allowed -eq 0 ]]; then
        echo "resolve-runtime: $bin needs $name, which is not installed in the build stage" >&2
        status=1
      fi
    elif [[ "$line" =~ ^([^[:space:]]+)[[:space:]]+=\>[[:space:]]+(/[^[:space:]]+) ]]; then
      lib_soname["${BASH_REMATCH[2]}"]="${BASH_REMATCH[1]}"
    elif [[ "$line" =~ ^(/[^[:space:]]+)[[:space:]]+\( ]]; then   # the ELF interpreter
      lib_soname["${BASH_REMATCH[1]}"]="$(basename "${BASH_REMATCH[1]}")"
    fi
  done <<<"$out"
done

# The spellings under which dpkg may have recorded a path (bookworm's merged /usr: a package may
# list /lib/x or /usr/lib/x).
spellings() {
  echo "$1"
  case "$1" in
    /usr/lib/*|/usr/lib64/*|/usr/bin/*|/usr/sbin/*) echo "${1#/usr}" ;;
    /lib/*|/lib64/*|/bin/*|/sbin/*) echo "/usr$1" ;;
  esac
}
# Both the path as loaded and its target: a symlink and the file it points to may come from
# different packages (python3 -> python3.11), and only the target of an alternative
# (libblas.so.3 -> OpenBLAS) is owned at all.
candidates() {
  spellings "$1"
  spellings "$(realpath -e "$1")"
}

declare -A owner=()   # path -> packages
mapfile -t all_candidates < <(for p in "${!lib_soname[@]}"; do candidates "$p"; done | sort -u)
if [[ ${#all_candidates[@]} -gt 0 ]]; then
  while IFS= read -r line; do
    [[ "$line" == diversion* ]] && continue
    pkgs="${line%%: /*}"
    path="/${line#*: /}"
    owner["$path"]="$pkgs"
  done < <(LC_ALL=C dpkg-query -S -- "${all_candidates[@]}" 2>/dev/null || true)
fi

declare -A packages=()
bundled=0
for p in "${!lib_soname[@]}"; do
  real="$(realpath -e "$p")"
  if under "$real" ${skip_prefixes[@]+"${skip_prefixes[@]}"}; then continue; fi
  found=""
  for c in $(spellings "$p") ; do
    if [[ -n "${owner[$c]:-}" ]]; then found="${owner[$c]}"; break; fi
  done
  for c in $(spellings "$real"); do
    if [[ -n "${owner[$c]:-}" ]]; then found="${found:+$found, }${owner[$c]}"; break; fi
  done
  if [[ -n "$found" ]]; then
    IFS=',' read -ra names <<<"$found"
    for n in "${names[@]}"; do
      n="${n// /}"
      packages["${n%%:*}"]=1   # drop the architecture qualifier (libc6:amd64)
    done
  elif under "$real" ${bundle_prefixes[@]+"${bundle_prefixes[@]}"}; then
    mkdir -p "$bundle_dir"
    cp -L "$real" "$bundle_dir/${lib_soname[$p]}"
    bundled=$((bundled + 1))
  else
    echo "resolve-runtime: $p ($real) belongs to no Debian package and lies under no" \
         "--skip-prefix/--bundle-prefix" >&2
    status=1
  fi
done

if [[ $status -ne 0 ]]; then exit "$status"; fi
printf '%s\n' "${!packages[@]}" | LC_ALL=C sort >"$packages_out"
echo "resolve-runtime: ${#lib_soname[@]} files -> $(wc -l <"$packages_out") packages" \
     "(written to $packages_out), $bundled bundled" >&2
