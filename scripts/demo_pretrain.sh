#!/usr/bin/env bash
# scripts/demo_pretrain.sh (make demo-pretrain): pretraining from scratch on the CPU. Packs
# the small text shipped in data/demo with the byte-level tokenizer, initialises a
# ~0.8M-parameter Llama, trains it for a minute or two, and evaluates it before and after.
# Everything lands in $DEMO_DIR (runs/demo-pretrain).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${DEMO_DIR:-runs/demo-pretrain}
STEPS=${DEMO_STEPS:-400}
rm -rf "$DIR"
mkdir -p "$DIR"

echo "== 1. pack data/demo/stories.txt into token shards (byte-level tokenizer)"
./strap data pack --tokenizer bytes --input data/demo/stories.txt --split-paragraphs \
    --val-fraction 0.05 --out "$DIR/data"

echo "== 2. a new model: 4 layers, width 128, 4 heads (2 KV heads), byte vocabulary"
./strap init --out "$DIR/init" --vocab 258 --dim 128 --layers 4 --heads 4 --kv-heads 2 \
    --ffn 384 --max-seq 256 --seed 1
./strap eval ppl --model "$DIR/init" --data "$DIR/data/val" --seq 128 --max-batches 20

echo "== 3. train $STEPS steps (batch 16 x 128 tokens)"
./strap train --model "$DIR/init" --data "$DIR/data" --out "$DIR/model" \
    --steps "$STEPS" --batch 16 --seq 128 --lr 3e-3 --warmup 40 --eval-every 100 \
    --eval-data "$DIR/data/val" --eval-batches 10

echo "== 4. evaluate the trained model on the held-out stories"
./strap eval ppl --model "$DIR/model" --data "$DIR/data/val" --seq 128 --max-batches 20

echo "== 5. let it write (strap gen, KV cache, temperature 0.8)"
./strap gen --model "$DIR/model" --prompt "It was a sunny morning. Mia" --max-new 96 --temperature 0.8 --seed 1  # within the 128 positions it was trained on
echo
echo "The checkpoint in $DIR/model (config.json + model.safetensors) loads in Hugging Face"
echo "transformers; the per-step metrics are in $DIR/model/metrics.jsonl"
echo "(plot them: python3 scripts/plot_metrics.py $DIR/model/metrics.jsonl)."
