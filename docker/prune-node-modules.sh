#!/bin/sh
# Removes what a Linux container never loads from a production node_modules: other platforms'
# and architectures' native binaries (onnxruntime-node ships darwin, win32 and both Linux
# architectures, ~220 MB), native build intermediates and sources, and TypeScript sources/maps.
set -eu
nm="${1:?usage: prune-node-modules.sh <node_modules>}"
arch=$(node -p 'process.arch')

# onnxruntime-node: bin/napi-v*/<platform>/<arch>: keep linux/<this arch> only.
for napi in "$nm"/onnxruntime-node/bin/napi-v*; do
  [ -d "$napi" ] || continue
  find "$napi" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
  [ -d "$napi/linux" ] && find "$napi/linux" -mindepth 1 -maxdepth 1 ! -name "$arch" -exec rm -rf {} +
done

# Addons compiled here (node-gyp): keep build/Release/*.node (no test_* helpers), drop object
# files, generated sources and the bundled C/C++ sources they were built from.
find "$nm" -name binding.gyp -not -path '*/node_modules/*/node_modules/*/test/*' | while read -r gyp; do
  addon=$(dirname "$gyp")
  [ -d "$addon/build/Release" ] || continue
  keep=$(mktemp -d)
  find "$addon/build/Release" -maxdepth 1 -name '*.node' ! -name 'test_*' -exec mv {} "$keep"/ \;
  rm -rf "$addon/build" "$addon/deps" "$addon/src"
  mkdir -p "$addon/build/Release"
  mv "$keep"/* "$addon/build/Release"/ 2>/dev/null || true
  rmdir "$keep"
done

# Prebuilt binaries kept for other platforms by packages that ship them all.
find "$nm" -type d -name prebuilds -prune -exec sh -c '
  for d in "$1"/*; do case "$(basename "$d")" in linux-'"$arch"'*) ;; *) rm -rf "$d" ;; esac; done
' sh {} \;

find "$nm" \( -name '*.ts' ! -name '*.d.ts' -o -name '*.map' -o -name '*.md' ! -iname 'license*' \) -type f -delete 2>/dev/null || true
du -sh "$nm" >&2
