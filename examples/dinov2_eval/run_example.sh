#!/usr/bin/env bash
# Beyond Inception, offline: evaluate an exported generator on DINOv2 features from a local weights file and get
# FD_DINOv2-S, density/coverage, CMMD and the Vendi score in metrics.json and in the leaderboard.
#   usage: examples/dinov2_eval/run_example.sh [WORK_DIR]   (default: a fresh temporary folder; N=200)
# Needs timm (pip install timm). With the real weights, point GANBENCH_DINOV2_VIT_S14_WEIGHTS at
# dinov2_vits14_pretrain.pth (or leave it unset when torch hub / timm have cached them) and skip step 1.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${1:-$(mktemp -d)}
N=${N:-200}
echo "working in $WORK"

# 1. a random-weights DINOv2 ViT-S/14 file and a small TorchScript generator of 8x8 digits
python "$HERE/make_inputs.py" "$WORK"
export GANBENCH_DINOV2_VIT_S14_WEIGHTS="$WORK/dinov2_vits14_random.pth"   # nothing is ever downloaded

# 2. evaluate the generator against the digits test split on DINOv2 features
ganbench eval-generator --generator "$WORK/generator.pt" --data digits --features dinov2-vit-s14 --n "$N" \
    --set eval.n_real="$N" --set 'eval.metrics=["fid", "density_coverage", "cmmd", "vendi"]' \
    --name random-digits --out "$WORK/external"

# 3. the leaderboard names the feature space (FD_DINOv2-S) and warns where N is below a metric's protocol
ganbench report "$WORK/external" --out "$WORK/report"
cat "$WORK/report/leaderboard.md"
