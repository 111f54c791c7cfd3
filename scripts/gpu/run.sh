#!/usr/bin/env bash
# The one-call GPU check (issue 14), run ON the GPU machine from the repository root with the
# bundle of scripts/gpu/pack carried:  bash scripts/gpu/run.sh "$OUT"
#
#   scripts/gpu/run.sh <outdir> [--cpu-only] [--short] [--bundle DIR] [--keep] [-- <gpu-check options>]
#
# 1. unpacks node, onnxruntime-node's linux-x64 binaries and the app to a temp folder;
# 2. unless --cpu-only: unpacks the Vulkan/EGL loader .debs into / (root only; the device README's
#    recipe), runs ldconfig, points VK_DRIVER_FILES / __EGL_VENDOR_LIBRARY_FILENAMES at the NVIDIA
#    ICD / vendor files when they exist, and runs vulkaninfo (unpacked under the temp folder);
# 3. runs gpu/gpu-check.js, which writes <outdir>/gpu-check.json and <outdir>/gpu-check.log.
#
# --cpu-only never touches / and skips the GPU-only parts; with --short it is what the tests run
# on a machine without a GPU. Nothing here aborts the check on a failed step: failures are
# recorded in the JSON. Exit status: 0 when gpu-check.json was written by the check, else 1.
set -uo pipefail

usage() { echo "usage: $0 <outdir> [--cpu-only] [--short] [--bundle DIR] [--keep] [-- gpu-check options]" >&2; exit 2; }
[ $# -ge 1 ] || usage
case "$1" in -*) usage ;; esac
out=$1
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
bundle="$repo/.gpu-bundle"
cpu_only=0
short=0
keep=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-only) cpu_only=1 ;;
    --short) short=1 ;;
    --keep) keep=1 ;;
    --bundle) shift; [ $# -gt 0 ] || usage; bundle=$1 ;;
    --) shift; extra=("$@"); break ;;
    *) usage ;;
  esac
  shift
done

mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
log="$out/gpu-check.log"
: >"$log"
work=$(mktemp -d "${TMPDIR:-/tmp}/spleeter-gpu-check.XXXXXX") || exit 1
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
t0=$(date +%s)
say() { echo "[run.sh +$(($(date +%s) - t0))s] $*" | tee -a "$log"; }
fail_json() {
  # The check could not start: still leave a JSON that says why.
  local msg=${1//\"/\'}
  printf '{"schema":"spleeter-gpu-check/1","error":"%s","steps":[{"name":"setup","ok":false,"error":"%s"}]}\n' "$msg" "$msg" >"$out/gpu-check.json"
  say "FAILED: $1"
  exit 1
}

# xz may be missing from a minimal image; Python's lzma (standard library) reads the same files.
unxz_to() { # <file.xz> <dest>
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"), 1 << 20)' "$1" "$2"
  else return 1; fi
}
untar_xz() { # <file.tar.xz> <dir>
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" | tar -x -C "$2"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer, 1 << 20)' "$1" | tar -x -C "$2"; fi
}

say "bundle $bundle, work $work, mode $([ $cpu_only = 1 ] && echo cpu-only || echo gpu)$([ $short = 1 ] && echo ' short')"
for f in node.xz ort-linux-x64.tar.xz app.tar.xz; do
  [ -f "$bundle/$f" ] || fail_json "bundle file $bundle/$f is missing: run scripts/gpu/pack here and carry .gpu-bundle"
done

# 1. node, onnxruntime, the app -----------------------------------------------------------------
unxz_to "$bundle/node.xz" "$work/node" || fail_json "cannot decompress node.xz (no xz, no python3 lzma)"
chmod +x "$work/node"
untar_xz "$bundle/app.tar.xz" "$work" || fail_json "cannot unpack app.tar.xz"
untar_xz "$bundle/ort-linux-x64.tar.xz" "$work" || fail_json "cannot unpack ort-linux-x64.tar.xz"
"$work/node" -e 1 || fail_json "the bundled node does not run here ($(uname -m), $(ldd --version 2>&1 | head -1))"
say "node $("$work/node" --version) unpacked ($(du -sh "$work" | cut -f1))"

args=(--out "$out" --work "$work/run")
[ $cpu_only = 1 ] && args+=(--cpu-only)
[ $short = 1 ] && args+=(--short)
[ -f "$bundle/audio/clip.wav" ] && args+=(--clip "$bundle/audio/clip.wav")

# 2. Vulkan -------------------------------------------------------------------------------------
if [ $cpu_only = 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null 2>&1; then
    for f in "$bundle"/debs/vulkan/*.deb; do
      [ -f "$f" ] && { dpkg -x "$f" / || say "dpkg -x $f failed"; }
    done
    ldconfig || say "ldconfig failed"
  else
    say "not root or no dpkg: Vulkan loaders not installed (the system's are used, if any)"
  fi
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$f" ]; then export VK_DRIVER_FILES=$f; fi
  done
  for f in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json; do
    if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f "$f" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$f; fi
  done
  say "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset} __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-unset}"
  ldconfig -p 2>/dev/null | grep -E 'libvulkan|libEGL\.' | tee -a "$log"
  if ls "$bundle"/debs/tools/*.deb >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
    mkdir -p "$work/vktools"
    for f in "$bundle"/debs/tools/*.deb; do dpkg -x "$f" "$work/vktools" || true; done
    vi="$work/vktools/usr/bin/vulkaninfo"
    if [ -x "$vi" ]; then
      LD_LIBRARY_PATH="$work/vktools/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        timeout 30 "$vi" --summary >"$work/vulkaninfo.txt" 2>&1
      say "vulkaninfo exit $?: $(grep -m3 -E 'deviceName|ERROR' "$work/vulkaninfo.txt" | tr -s ' ' | tr '\n' ';')"
      cat "$work/vulkaninfo.txt" >>"$log"
      args+=(--vulkaninfo "$work/vulkaninfo.txt")
    fi
  fi
fi

# 3. the check ----------------------------------------------------------------------------------
# The check keeps its own budget (gpu-check --budget, 420 s by default); this is the last resort,
# set to end before the device call's timeout_s (540) so that the JSON is always written.
say "gpu-check ${args[*]} ${extra[*]:-}"
cd "$work" || exit 1
timeout -k 10 "${GPU_CHECK_HARD_LIMIT_S:-500}" "$work/node" "$work/app/gpu/gpu-check.js" "${args[@]}" "${extra[@]}"
rc=$?
say "gpu-check exit $rc"
if [ ! -s "$out/gpu-check.json" ]; then fail_json "gpu-check exited $rc without writing gpu-check.json"; fi
[ $rc = 0 ] || exit 1
exit 0
