#!/usr/bin/env bash
# GPU acceptance check of a GPU worker, unattended (about a minute on a CUDA machine): `bench --gpu` on the generated
# GPT-2-small-shaped model. ORT on cuda:N against ORT on the CPU with every attention output (max |logits diff| and
# max |z diff| <= 1e-3), layer 0's heads scored by the ORT static graph on CUDA against the SIMD kernels (every count
# equal), tokens/s and heads/s of both.
# Exit 0: passed; 1: something differs; 3: no CUDA session (one line on stderr saying which library is missing).
# Usage: deploy/gpu-check.sh [--device N] [--json] [--keep]; the work folder: $GPU_CHECK_WORK (default /tmp/headclassifier-gpu-check)
# The CLI: $HEADCLASSIFIER_CLI, else /app/cli/headclassifier.dll (the image's GPU stage), else built from this checkout.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cli="${HEADCLASSIFIER_CLI:-}"
if [ -z "$cli" ] && [ -f /app/cli/headclassifier.dll ]; then cli=/app/cli/headclassifier.dll; fi
if [ -z "$cli" ]; then
  dotnet build "$here/../src/HeadClassifier.Cli" -c Release -nologo -v q >&2 || exit 1
  cli="$here/../src/HeadClassifier.Cli/bin/Release/net10.0/headclassifier.dll"
fi
exec dotnet "$cli" bench --gpu --work "${GPU_CHECK_WORK:-${TMPDIR:-/tmp}/headclassifier-gpu-check}" "$@"
