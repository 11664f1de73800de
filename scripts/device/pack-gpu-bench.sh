#!/usr/bin/env bash
# Prepares .device/ for a lent GPU machine (no Node.js, no registry there; ../shared/device/README.md):
# Node and the Vulkan loader (../shared/device/pack.sh), then bundles of the GPU benchmark, its CPU
# worker and the CLI, and the `webgpu` package with only its linux-x64 binary (about 21 MB).
#   bash scripts/device/pack-gpu-bench.sh
# Then, with the device tool (carry [".device"]):
#   source .device/setup.sh && cd .device && GATELAB_BENCH_WORKER=gpu-cpu-worker.mjs node gpu-bench.mjs
#   source .device/setup.sh && node .device/gatelab.mjs sweep experiments/demys-over3.json --backend gpu --out $OUT/over3
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
bash ../shared/device/pack.sh
bundle() { # entry, output
  npx esbuild "$1" --bundle --platform=node --format=esm --target=node20 --external:webgpu \
    --external:playwright-core --log-level=warning --outfile="$2" \
    --banner:js="import { createRequire as __gatelabRequire } from 'module'; const require = __gatelabRequire(import.meta.url);"
}
bundle bench/gpu.bench.ts .device/gpu-bench.mjs
bundle bench/gpu-cpu-worker.ts .device/gpu-cpu-worker.mjs
printf "import { main } from '../src/cli/main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n" > .device/cli-entry.ts
bundle .device/cli-entry.ts .device/gatelab.mjs
rm .device/cli-entry.ts
dest=.device/node_modules/webgpu
rm -rf "$dest" && mkdir -p "$dest/dist"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$dest/"
cp -r node_modules/webgpu/dist/linux-x64 "$dest/dist/"
du -sh .device
