#!/usr/bin/env bash
# The device bundle for this repo: ../shared/tools/device-bundle.sh, then the packages no bench run on
# the device machine loads (sharp's libvips, test and browser packages, Kubernetes schemas) taken out,
# so that the tracked files and .device stay under the device tool's 64 MiB. Run after `npm ci`:
#   bash bench/device/bundle.sh
set -euo pipefail
root=$(git rev-parse --show-toplevel); cd "$root"
bash ../shared/tools/device-bundle.sh
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
xz -dc .device/node_modules.tar.xz | tar -C "$stage" -xf -
nm="$stage/node_modules"
rm -rf "$nm"/@img "$nm"/sharp "$nm"/kubernetes-models "$nm"/@kubernetes-models \
       "$nm"/vitest "$nm"/@vitest "$nm"/@types "$nm"/fast-check
# A workspace's own node_modules (a version its package needs apart from the root's) go along too:
# the shared tool packs only the root's.
for ws in */node_modules; do
  [ -d "$ws" ] && { mkdir -p "$stage/$(dirname "$ws")"; cp -a "$ws" "$stage/$ws"; }
done
(cd "$stage" && ls -d node_modules */node_modules) | xargs tar -C "$stage" -cf - | xz -T0 -7 > .device/node_modules.tar.xz
limit=67108864
total=$(( $(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) + $(du -sb .device | cut -f1) ))
echo "bundle: tracked files + .device = $total bytes (limit $limit)"
[ "$total" -lt "$limit" ] || { echo "bundle: over the device tool's limit" >&2; exit 1; }
