#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS TARGET...: seeds each target's corpus from the project's fixtures
# (build-fuzz/seeds/TARGET), runs it for SECONDS (or, with FUZZ_RUNS=N, for N inputs from the
# fixed seed 1 and a fresh corpus: the same inputs every time) with the corpus growing in
# build-fuzz/corpus/TARGET, and fails on the first crash, sanitizer report, abort (CHECK) or
# hang; the input that found it is written to build-fuzz/crash-* (reproduce:
# build-fuzz/TARGET build-fuzz/crash-...). Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
seconds=$1
shift
S=build-fuzz/seeds
rm -rf "$S"
mkdir -p "$S"/fuzz_safetensors "$S"/fuzz_gguf "$S"/fuzz_tokenizer "$S"/fuzz_shard "$S"/fuzz_jsonl "$S"/fuzz_config "$S"/fuzz_chat_template
n=0
for f in $(find tests/ref/fixtures -name '*.safetensors' -size -200k); do cp "$f" "$S/fuzz_safetensors/$((n++)).safetensors"; done
cp tests/ref/fixtures/gguf/*.gguf "$S/fuzz_gguf/"
cp tests/ref/fixtures/tok/*.tokenizer.json "$S/fuzz_tokenizer/"
head -c 4000 data/demo/stories.txt > "$S/text.txt"
./strap data pack --tokenizer bytes --input "$S/text.txt" --out "$S/pack" --frame-tokens 256 > /dev/null
cp "$S"/pack/train_*.tok.zst "$S/fuzz_shard/"
head -n 5 data/synth/seed_prompts.jsonl > "$S/fuzz_jsonl/seed.jsonl"
zstd -q -c "$S/fuzz_jsonl/seed.jsonl" > "$S/fuzz_jsonl/seed.zst"
for d in tests/ref/fixtures/*/; do [ -f "$d/config.json" ] && cp "$d/config.json" "$S/fuzz_config/$(basename "$d").json"; done
printf '%s' '{"chat_template": "{% for message in messages %}<|im_start|>{{ message[\"role\"] }}\n{{ message[\"content\"] }}<|im_end|>\n{% endfor %}", "bos_token": "<|im_start|>"}' > "$S/fuzz_chat_template/chatml.json"
printf '%s' '{"chat_template": "<|begin_of_text|>{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content }}<|eot_id|>{% endfor %}"}' > "$S/fuzz_chat_template/llama3.json"
printf '%s' '{"chat_template": "{% if messages[0][\"role\"] != \"system\" %}<|im_start|>system\nYou are a helpful AI assistant named SmolLM<|im_end|>\n{% endif %}"}' > "$S/fuzz_chat_template/system.json"
# memory a rejected input leaves allocated (fail() jumps over the frees) is not a finding
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
passed=0
failed=0
for t in "$@"; do
    corpus="build-fuzz/corpus/$t"
    limit=(-max_total_time="$seconds")
    if [ "${FUZZ_RUNS:-0}" -gt 0 ]; then # repeatable: a fresh corpus, a fixed seed, a number of inputs
        corpus="build-fuzz/corpus-runs/$t"
        rm -rf "$corpus"
        limit=(-runs="$FUZZ_RUNS" -seed=1 -max_total_time=600)
    fi
    mkdir -p "$corpus"
    log="build-fuzz/$t.log"
    echo "== $t (${FUZZ_RUNS:-0} inputs or $seconds s)"
    if "build-fuzz/$t" "${limit[@]}" -detect_leaks=0 -rss_limit_mb=4096 -timeout=20 -max_len=262144 \
        -artifact_prefix=build-fuzz/crash-"$t"- "$corpus" "$S/$t" > "$log" 2>&1; then
        passed=$((passed + 1))
        grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" "$log" | tail -n 1 | sed 's/^/   /'
    else
        failed=$((failed + 1))
        tail -n 30 "$log" | sed 's/^/   | /'
        echo "   FAIL: $t (the input: build-fuzz/crash-$t-*)"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
