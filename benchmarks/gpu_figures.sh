#!/usr/bin/env bash
# The GPU figures of docs/benchmarks.md in one run, on a host with CUDA:
#   benchmarks/gpu_figures.sh [OUTDIR]
# Selfplay over search processes sharing one batching evaluator (hex8_2p, 128 simulations; medium at
# 1 to 24 processes, then small and large at 16), training throughput, and the
# real commands end to end (selfplay, export, train on the GPU). Each part's output goes to OUTDIR.
set -uo pipefail
out=${1:-gpu-figures}
mkdir -p "$out"
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
seconds=${SECONDS_PER_COUNT:-10}

{ nvidia-smi -L; nproc; $py -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())"; } \
    2>&1 | tee "$out/machine.txt"
$py benchmarks/selfplay_bench.py --config hex8_2p --device cuda --procs 1,4,8,16,24 --presets medium \
    --sims 128 --seconds "$seconds" 2>&1 | tee "$out/selfplay_medium.txt"
$py benchmarks/selfplay_bench.py --config hex8_2p --device cuda --procs 16 --presets small,large --sims 128 \
    --seconds "$seconds" 2>&1 | tee "$out/selfplay_small_large.txt"
$py benchmarks/train_bench.py --config hex8_2p --device cuda --preset medium --batch 512 --rounds 3 \
    --games 96 --shard-samples 4000 --workers 0,2,4 2>&1 | tee "$out/train.txt"

# The commands a user types, on the GPU: a games shard, its samples, a trained model.
home=$(mktemp -d)
{
    set -x
    $py -m ringrift_cli init --home "$home" &&
    $py -m ringrift_cli selfplay hex8_2p --home "$home" --games 64 --sims 32 --model none --json &&
    $py -m ringrift_cli export hex8_2p --home "$home" --json &&
    $py -m ringrift_cli train hex8_2p --home "$home" --from scratch --preset small --epochs 2 --device cuda \
        --json >"$home/trained.json" && cat "$home/trained.json" &&
    model=$($py -c "import json, sys; print(json.load(open(sys.argv[1]))['model_id'])" "$home/trained.json") &&
    $py -m ringrift_cli selfplay hex8_2p --home "$home" --games 64 --sims 32 --model "$model" --device cuda \
        --procs 8 --json
} 2>&1 | tail -c 20000 | tee "$out/commands.txt"
