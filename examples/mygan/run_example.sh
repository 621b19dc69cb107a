#!/usr/bin/env bash
# Bring your own GAN, end to end: train your loss and model through a suite, export the generator,
# evaluate the exported file as an external generator, record a baseline and gate on it.
#   usage: examples/mygan/run_example.sh [WORK_DIR]   (default: a fresh temporary folder; STEPS=600)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${1:-$(mktemp -d)}
STEPS=${STEPS:-600}
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"   # or: pip install -e examples/mygan
echo "working in $WORK"

# 1. train and evaluate both runs of the suite (the focal loss and ns, both with mygan's networks)
ganbench run "$HERE/suite.toml" --out "$WORK/results" --set train.steps="$STEPS"

# 2. export the focal run's generator as TorchScript (what you would ship)
RUN=$(ls -d "$WORK"/results/*focal_ns* | head -n 1)
python -m mygan.export "$RUN" "$WORK/generator.pt"

# 3. evaluate the exported file as ganbench evaluates its own runs (seed 0 and the same settings: the same
#    numbers as the run), for 8 latent seeds: the gate compares distributions over seeds, never one number
for SEED in 0 1 2 3 4 5 6 7; do
  ganbench eval-generator --generator "$WORK/generator.pt" --data ring8 --features identity --n 1000 \
      --name mygan --seed "$SEED" --out "$WORK/external"
done

# 4. record the baseline once (commit it), then gate every later build on it
ganbench baseline "$WORK/external" --out "$WORK/baseline.json"
ganbench check --results "$WORK/external" --baseline "$WORK/baseline.json" --fail fid:10%
