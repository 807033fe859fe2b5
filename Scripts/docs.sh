#!/usr/bin/env bash
# Generates the DocC documentation of the four library modules (swift-docc-plugin), one archive
# each under .build/docs/, and fails on any warning (an unresolved symbol link, a bad article).
#
#   bash Scripts/docs.sh                 # all four
#   bash Scripts/docs.sh SLKDModels      # one
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/ensure-dependencies.sh

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(SLKDTensor SLKDModels SLKDQuality SLKDDistill); fi

mkdir -p .build/docs
failed=()
for target in "${targets[@]}"; do
    echo "---- docs: $target"
    swift package --allow-writing-to-directory .build/docs \
        generate-documentation --target "$target" --output-path ".build/docs/$target.doccarchive" \
        --warnings-as-errors || failed+=("$target")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "docs: warnings or errors in ${failed[*]}" >&2
    exit 1
fi
echo "docs: archives in .build/docs (preview one with: swift package --disable-sandbox preview-documentation --target SLKDTensor)"
