#!/usr/bin/env bash
# GPU acceptance check of a GPU worker, unattended (about a minute on a CUDA machine): `headclassifier-bench --gpu` on
# the generated GPT-2-small-shaped model. ORT on cuda:N against ORT on the CPU with every attention output (max |logits
# diff| and max |z diff| <= 1e-3), layer 0's heads scored by the ORT static graph on CUDA against the SIMD kernels
# (every count equal), tokens/s and heads/s of both.
# Exit 0: passed; 1: something differs; 3: no CUDA session (one line on stderr saying which library is missing).
# Usage: deploy/gpu-check.sh [--device N] [--json] [--keep]; the work folder: $GPU_CHECK_WORK (default /tmp/headclassifier-gpu-check)
# The bench: $HEADCLASSIFIER_BENCH, else /app/cli/headclassifier-bench.dll (the image's GPU stage), else built from this checkout.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bench="${HEADCLASSIFIER_BENCH:-}"
if [ -z "$bench" ] && [ -f /app/cli/headclassifier-bench.dll ]; then bench=/app/cli/headclassifier-bench.dll; fi
if [ -z "$bench" ]; then
  dotnet build "$here/../src/HeadClassifier.Bench" -c Release -nologo -v q >&2 || exit 1
  bench="$here/../src/HeadClassifier.Bench/bin/Release/net10.0/headclassifier-bench.dll"
fi
exec dotnet "$bench" --gpu --work "${GPU_CHECK_WORK:-${TMPDIR:-/tmp}/headclassifier-gpu-check}" "$@"
