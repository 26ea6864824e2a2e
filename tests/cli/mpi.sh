#!/usr/bin/env bash
# Data-parallel training under mpirun (2 ranks on CPU): 2 ranks x --batch B give the weights
# of 1 rank x --batch B x --grad-accum 2 (train and dpo, with and without --zero 1); a 2-rank
# run resumes on 1 rank; dpo --resume on 2 ranks is byte-identical; a rank that fails on a
# bad shard stops the whole job with a message naming it, without hanging. Gradient buckets
# reduced during the backward (many small ones) give the weights of buckets reduced after it.
source "$(dirname "$0")/lib.bash"
need_mpi
MPIRUN=(timeout 120 mpirun --oversubscribe -np 2)

# same_weights A B [TOL]: max |a-b| / max |b| per tensor <= TOL (1e-6) (prints "identical" or the figure)
same_weights() {
    python3 - "$1" "$2" "${3:-1e-6}" <<'PY'
import array, json, struct, sys
def load(p):
    b = open(p, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        assert v["dtype"] == "F32", (k, v["dtype"])
        s, e = v["data_offsets"]
        a = array.array("f"); a.frombytes(b[8 + n + s:8 + n + e]); out[k] = a
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys(), "different tensors"
worst, same = 0.0, True
for k in a:
    x, y = a[k], b[k]
    same &= x.tobytes() == y.tobytes()
    scale = max(max(abs(v) for v in y), 1e-30)
    worst = max(worst, max(abs(p - q) for p, q in zip(x, y)) / scale)
print("identical" if same else "max relative difference %.3g" % worst)
sys.exit(0 if worst <= float(sys.argv[3]) else 1)
PY
}

# ---- strap train ----
head -c 40000 data/demo/stories.txt > "$TMP/text.txt"
"$STRAP" data pack --tokenizer bytes --input "$TMP/text.txt" --split-paragraphs --out "$TMP/data" >/dev/null || fail_test "pack"
"$STRAP" init --out "$TMP/m0" --vocab 258 --dim 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --max-seq 64 --seed 1 >/dev/null || fail_test "init"
args=(--model "$TMP/m0" --data "$TMP/data" --seq 32 --lr 3e-3 --warmup 3 --threads 1 --steps 12)
"$STRAP" train "${args[@]}" --batch 4 --grad-accum 2 --out "$TMP/one" > "$TMP/one.log" 2>&1 || fail_test "1 rank: $(tail -n 3 "$TMP/one.log")"
for zero in 0 1; do
    "${MPIRUN[@]}" "$STRAP" train "${args[@]}" --batch 4 --zero $zero --out "$TMP/two$zero" > "$TMP/two$zero.log" 2>&1 \
        || fail_test "2 ranks --zero $zero: $(tail -n 5 "$TMP/two$zero.log")"
    if diff=$(same_weights "$TMP/two$zero/model.safetensors" "$TMP/one/model.safetensors"); then
        echo "train, 2 ranks --zero $zero vs 1 rank --grad-accum 2: $diff"
    else
        fail_test "train: 2 ranks --zero $zero differ from 1 rank with --grad-accum 2: $diff"
    fi
    same_weights "$TMP/two$zero/optimizer.safetensors" "$TMP/one/optimizer.safetensors" >/dev/null \
        || fail_test "train: optimizer state of 2 ranks --zero $zero differs"
    # only rank 0 prints: one line per step, one metrics line per step
    [ "$(grep -c '^step ' "$TMP/two$zero.log")" -eq 12 ] || fail_test "--zero $zero: expected 12 step lines from rank 0 alone"
    [ "$(wc -l < "$TMP/two$zero/metrics.jsonl")" -eq 12 ] || fail_test "--zero $zero: metrics.jsonl should have 12 lines"
    grep -q "2 ranks (mpi)" "$TMP/two$zero.log" || fail_test "the 2-rank run does not say it runs on 2 ranks"
    expect_no_tmp "$TMP/two$zero"
done
# the same loss line by line (the reduction order may change the last digit of nothing else)
diff <(grep -o 'loss [0-9.]*' "$TMP/one.log") <(grep -o 'loss [0-9.]*' "$TMP/two1.log") >/dev/null || fail_test "losses of 1 and 2 ranks differ"

# gradient buckets started during the backward as layers finish (STRAP_OVERLAP=1; the default
# on GPUs) vs all after it (STRAP_OVERLAP=0; the default on CPU), 1 KiB buckets (about 35 of them); with --grad-accum 2 only the second
# backward of a step may start them
for ov in 1 0; do
    STRAP_BUCKET_KB=1 STRAP_OVERLAP=$ov "${MPIRUN[@]}" -x STRAP_BUCKET_KB -x STRAP_OVERLAP "$STRAP" train "${args[@]}" \
        --batch 2 --grad-accum 2 --out "$TMP/ov$ov" > "$TMP/ov$ov.log" 2>&1 || fail_test "2 ranks, STRAP_OVERLAP=$ov: $(tail -n 5 "$TMP/ov$ov.log")"
done
cmp -s "$TMP/ov1/model.safetensors" "$TMP/ov0/model.safetensors" || fail_test "train: overlapped bucket reduces change the weights"
# ZeRO-1 reduce-scatters in the same buckets, each cut at the chunk boundaries and reduced into
# its owner (the chunk boundary falls inside a bucket), started during the backward too: the
# same weights and optimizer state as --zero 0
for ov in 1 0; do
    STRAP_BUCKET_KB=1 STRAP_OVERLAP=$ov "${MPIRUN[@]}" -x STRAP_BUCKET_KB -x STRAP_OVERLAP "$STRAP" train "${args[@]}" \
        --batch 2 --grad-accum 2 --zero 1 --out "$TMP/zov$ov" > "$TMP/zov$ov.log" 2>&1 || fail_test "2 ranks --zero 1, STRAP_OVERLAP=$ov: $(tail -n 5 "$TMP/zov$ov.log")"
done
cmp -s "$TMP/zov1/model.safetensors" "$TMP/zov0/model.safetensors" || fail_test "train --zero 1: overlapped bucket reduces change the weights"
same_weights "$TMP/zov1/model.safetensors" "$TMP/ov1/model.safetensors" >/dev/null || fail_test "train: --zero 1 with buckets differs from --zero 0"
same_weights "$TMP/zov1/optimizer.safetensors" "$TMP/ov1/optimizer.safetensors" >/dev/null || fail_test "train: --zero 1 optimizer state differs from --zero 0"
"$STRAP" train "${args[@]}" --batch 2 --grad-accum 4 --out "$TMP/one4" > "$TMP/one4.log" 2>&1 || fail_test "1 rank --grad-accum 4: $(tail -n 3 "$TMP/one4.log")"
# (4 micro-batches summed on one rank, 2 x 2 on two: a different order of float sums)
if diff=$(same_weights "$TMP/ov1/model.safetensors" "$TMP/one4/model.safetensors" 1e-5); then
    echo "train, 2 ranks x --grad-accum 2, overlapped 1 KiB buckets vs 1 rank x --grad-accum 4: $diff"
else
    fail_test "train: 2 ranks with overlapped buckets differ from 1 rank: $diff"
fi

# strap bench step on 2 ranks reports the all-reduce and the share the backward hides (its
# figures are wall-clock times: only their presence and range are checked)
"${MPIRUN[@]}" "$STRAP" bench step --preset tiny --batch 2 --seq 32 --steps 2 --warmup 1 --threads 1 > "$TMP/bench.log" 2>&1 \
    || fail_test "bench step on 2 ranks: $(tail -n 5 "$TMP/bench.log")"
python3 - "$TMP/bench.log" <<'PY' || fail_test "bench step on 2 ranks: no step_allreduce JSON: $(cat "$TMP/bench.log")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert [l["bench"] for l in lines] == ["step", "step_allreduce"], lines  # rank 0 alone prints
r = lines[1]
assert r["world"] == 2 and r["zero"] == 0 and 0 <= r["comm_hidden"] <= 1 and r["comm_ms"] >= 0 and r["exposed_ms"] >= 0, r
PY
"${MPIRUN[@]}" "$STRAP" bench step --preset tiny --batch 2 --seq 32 --steps 2 --warmup 1 --threads 1 --zero 1 > "$TMP/benchz.log" 2>&1 \
    || fail_test "bench step --zero 1 on 2 ranks: $(tail -n 5 "$TMP/benchz.log")"
grep -q '"zero": 1' "$TMP/benchz.log" && grep -q "reduce-scatter after it" "$TMP/benchz.log" \
    || fail_test "bench step --zero 1 does not report the reduce-scatter: $(cat "$TMP/benchz.log")"

# a 2-rank run (ZeRO-1) stopped after 5 steps resumes on 1 rank with the same global batch
"${MPIRUN[@]}" "$STRAP" train "${args[@]}" --batch 4 --zero 1 --stop-after 5 --out "$TMP/moved" > "$TMP/moved1.log" 2>&1 \
    || fail_test "2 ranks, --stop-after: $(tail -n 3 "$TMP/moved1.log")"
grep -q '"world": 2' "$TMP/moved/trainer_state.json" || fail_test "trainer_state.json does not record the 2 ranks"
"$STRAP" train "${args[@]}" --batch 4 --grad-accum 2 --resume --out "$TMP/moved" > "$TMP/moved2.log" 2>&1 \
    || fail_test "resume on 1 rank: $(tail -n 3 "$TMP/moved2.log")"
grep -q "resuming .* at step 5" "$TMP/moved2.log" || fail_test "did not resume at step 5"
if diff=$(same_weights "$TMP/moved/model.safetensors" "$TMP/one/model.safetensors"); then
    echo "train, 2 ranks -> resumed on 1 rank: $diff"
else
    fail_test "2-rank run resumed on 1 rank differs from the 1-rank run: $diff"
fi
# a different global batch is refused
expect_error 1 "same global batch" -- "$STRAP" train "${args[@]}" --batch 4 --resume --steps 14 --out "$TMP/moved"

# a bad shard on rank 1 alone: the job stops, naming rank 1, well within the timeout
mkdir -p "$TMP/bad"
cp "$TMP"/data/*.tok.zst "$TMP/bad/"
printf 'NOTASHRD' | dd of="$(ls "$TMP"/bad/*.tok.zst | head -n 1)" bs=1 seek=0 conv=notrunc 2>/dev/null
timeout 60 mpirun --oversubscribe -np 1 "$STRAP" train "${args[@]}" --batch 4 --out "$TMP/badrun" \
    : -np 1 "$STRAP" train "${args[@]/$TMP\/data/$TMP/bad}" --batch 4 --out "$TMP/badrun" > "$TMP/bad.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] || fail_test "a bad shard on one rank exited 0"
[ "$rc" -ne 124 ] || fail_test "a bad shard on one rank hung the job (killed by timeout)"
grep -q "not a strap token shard" "$TMP/bad.log" || fail_test "no message about the bad shard: $(head -n 5 "$TMP/bad.log")"
grep -q "rank 1 of 2 failed" "$TMP/bad.log" || fail_test "the message does not name rank 1: $(head -n 5 "$TMP/bad.log")"

# ---- strap dpo ----
"$STRAP" init --out "$TMP/p0" --vocab 700 --dim 48 --layers 2 --heads 4 --kv-heads 2 --ffn 96 --max-seq 128 --seed 4 > /dev/null || fail_test "init"
cp tests/ref/fixtures/tok/llama3.tokenizer.json "$TMP/p0/tokenizer.json"
echo '{"chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"}' > "$TMP/p0/tokenizer_config.json"
python3 - "$TMP/pairs.jsonl" <<'PY'
import json, sys
names = ["Tom", "Mia", "Lena", "Sam", "Ava", "Ben", "Nora", "Leo", "Ida", "Max"]
with open(sys.argv[1], "w") as f:
    for i, n in enumerate(names):  # 10 pairs, 4 per step: the last step of an epoch has 2, rank 1 none
        f.write(json.dumps({"prompt": f"Say something kind about {n}." + " Please." * (i % 3),
                            "chosen": f"{n} is a good friend and helps everyone.",
                            "rejected": f"{n} is rude" + " and never helps" * (1 + i % 2) + "."}) + "\n")
PY
dargs=(--model "$TMP/p0" --pairs "$TMP/pairs.jsonl" --epochs 2 --batch 2 --lr 2e-3 --beta 0.5 --threads 1)
"$STRAP" dpo "${dargs[@]}" --grad-accum 2 --out "$TMP/d1" > "$TMP/d1.log" 2>&1 || fail_test "dpo 1 rank: $(tail -n 3 "$TMP/d1.log")"
for zero in 0 1; do
    "${MPIRUN[@]}" "$STRAP" dpo "${dargs[@]}" --zero $zero --out "$TMP/d2$zero" > "$TMP/d2$zero.log" 2>&1 \
        || fail_test "dpo 2 ranks --zero $zero: $(tail -n 5 "$TMP/d2$zero.log")"
    # (one rank adds the second micro-batch's gradient inside the sgemms, two ranks add two
    # finished gradients: the sums round differently, and AdamW's m / sqrt(v) blows that up
    # where a gradient is tiny; at lr 2e-3 this reaches ~1.5e-6 on some CPUs)
    if diff=$(same_weights "$TMP/d2$zero/model.safetensors" "$TMP/d1/model.safetensors" 1e-5); then
        echo "dpo, 2 ranks --zero $zero vs 1 rank --grad-accum 2: $diff"
    else
        fail_test "dpo: 2 ranks --zero $zero differ from 1 rank with --grad-accum 2: $diff"
    fi
    [ "$(wc -l < "$TMP/d2$zero/metrics.jsonl")" -eq 6 ] || fail_test "dpo --zero $zero: metrics.jsonl should have 6 lines"
done
# the last step of an epoch leaves rank 1 without pairs: rank 0 starts its buckets during its
# backward, rank 1 after its (empty) turn, around the step statistics on the host channel
for ov in 1 0; do
    STRAP_BUCKET_KB=1 STRAP_OVERLAP=$ov "${MPIRUN[@]}" -x STRAP_BUCKET_KB -x STRAP_OVERLAP "$STRAP" dpo "${dargs[@]}" \
        --out "$TMP/dov$ov" > "$TMP/dov$ov.log" 2>&1 || fail_test "dpo 2 ranks, STRAP_OVERLAP=$ov: $(tail -n 5 "$TMP/dov$ov.log")"
done
cmp -s "$TMP/dov1/model.safetensors" "$TMP/dov0/model.safetensors" || fail_test "dpo: overlapped bucket reduces change the weights"
same_weights "$TMP/dov1/model.safetensors" "$TMP/d1/model.safetensors" 1e-5 >/dev/null || fail_test "dpo: overlapped buckets differ from 1 rank"
python3 - "$TMP/d1/metrics.jsonl" "$TMP/d20/metrics.jsonl" <<'PY' || fail_test "dpo metrics of 1 and 2 ranks differ"
import json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
assert len(a) == len(b) == 6
for x, y in zip(a, b):
    for k in ("loss", "rewards_margin", "rewards_accuracy"):
        assert abs(x[k] - y[k]) <= 1e-5 * max(1, abs(x[k])), (k, x, y)
PY

# ---- eval ppl (batches, or windows of a token list) and eval pairs (slices of pairs) split
# over 3 ranks: the result of one process, printed and written once ----
seq 1 300 | awk '{ print ($1 * 37) % 256 }' > "$TMP/ids.txt" # 300 ids: 5 windows of the 64-token context
same_eval() { # A.json B.json: the same keys, numbers within 1e-9 relative
    python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a.keys() == b.keys(), (a, b)
for k in a:
    if isinstance(a[k], (int, float)):
        assert abs(a[k] - b[k]) <= 1e-9 * max(1, abs(a[k])), (k, a[k], b[k])
    else:
        assert a[k] == b[k], (k, a[k], b[k])
PY
}
for what in "--data $TMP/data --batch 2 --seq 32" "--tokens-file $TMP/ids.txt"; do
    # shellcheck disable=SC2086 # the words of $what are options
    "$STRAP" eval ppl --model "$TMP/two0" $what --threads 1 --out "$TMP/ppl1.json" > /dev/null 2>&1 || fail_test "eval ppl $what, 1 rank"
    # shellcheck disable=SC2086
    timeout 120 mpirun --oversubscribe -np 3 "$STRAP" eval ppl --model "$TMP/two0" $what --threads 1 --json --out "$TMP/ppl3.json" > "$TMP/ppl3.log" 2>&1 \
        || fail_test "eval ppl $what, 3 ranks: $(tail -n 5 "$TMP/ppl3.log")"
    same_eval "$TMP/ppl1.json" "$TMP/ppl3.json" || fail_test "eval ppl $what: 3 ranks differ from 1"
    [ "$(grep -c '"ppl"' "$TMP/ppl3.log")" -eq 1 ] || fail_test "eval ppl $what, 3 ranks: not one result line (rank 0 alone prints)"
done
grep -q '"tokens": 299' "$TMP/ppl3.json" || fail_test "eval ppl --tokens-file on 3 ranks: not 299 predictions: $(cat "$TMP/ppl3.json")"

# ---- sft: 2 ranks x --batch 1 vs 1 rank x --batch 1 x --grad-accum 2, 5 rows (rank 1 has
# none in the last step of an epoch); a 2-rank run stopped early resumes on 1 rank ----
python3 - "$TMP/sft.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i, n in enumerate(["Tom", "Mia", "Lena", "Sam", "Ava"]):
        f.write(json.dumps({"prompt": f"Who is {n}?" + " Tell me." * (i % 2), "response": f"{n} is a good friend" + " indeed" * (i % 3) + "."}) + "\n")
PY
sargs=(--model "$TMP/p0" --data "$TMP/sft.jsonl" --seq 48 --batch 1 --epochs 2 --lr 3e-3 --threads 1 --chat-template chatml)
"$STRAP" sft "${sargs[@]}" --grad-accum 2 --out "$TMP/s1" > "$TMP/s1.log" 2>&1 || fail_test "sft 1 rank: $(tail -n 3 "$TMP/s1.log")"
for zero in 0 1; do
    "${MPIRUN[@]}" "$STRAP" sft "${sargs[@]}" --zero $zero --out "$TMP/s2$zero" > "$TMP/s2$zero.log" 2>&1 \
        || fail_test "sft 2 ranks --zero $zero: $(tail -n 5 "$TMP/s2$zero.log")"
    if diff=$(same_weights "$TMP/s2$zero/model.safetensors" "$TMP/s1/model.safetensors" 1e-5); then
        echo "sft, 2 ranks --zero $zero vs 1 rank --grad-accum 2: $diff"
    else
        fail_test "sft: 2 ranks --zero $zero differ from 1 rank with --grad-accum 2: $diff"
    fi
    [ "$(grep -c '^sft: .* steps, loss' "$TMP/s2$zero.log")" -eq 1 ] || fail_test "sft --zero $zero: not one final line (rank 0 alone prints)"
done
python3 - "$TMP/s1/metrics.jsonl" "$TMP/s20/metrics.jsonl" <<'PY' || fail_test "sft metrics of 1 and 2 ranks differ"
import json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
assert len(a) == len(b) == 6, (len(a), len(b))  # 5 rows, 2 per step: 3 steps per epoch
for x, y in zip(a, b):
    assert x["rows"] == y["rows"] and x["trained_tokens"] == y["trained_tokens"], (x, y)
    assert abs(x["loss"] - y["loss"]) <= 1e-5 * max(1, abs(x["loss"])), (x, y)
PY
"${MPIRUN[@]}" "$STRAP" sft "${sargs[@]}" --stop-after 2 --out "$TMP/sm" > "$TMP/sm1.log" 2>&1 || fail_test "sft 2 ranks --stop-after: $(tail -n 3 "$TMP/sm1.log")"
"$STRAP" sft "${sargs[@]}" --grad-accum 2 --resume --out "$TMP/sm" > "$TMP/sm2.log" 2>&1 || fail_test "sft resumed on 1 rank: $(tail -n 3 "$TMP/sm2.log")"
grep -q "resuming .* at step 2" "$TMP/sm2.log" || fail_test "sft did not resume at step 2: $(cat "$TMP/sm2.log")"
same_weights "$TMP/sm/model.safetensors" "$TMP/s1/model.safetensors" 1e-5 >/dev/null || fail_test "sft: 2 ranks resumed on 1 rank differ from 1 rank"
expect_error 1 "global batch of 2 rows" -- "$STRAP" sft "${sargs[@]}" --resume --out "$TMP/sm"

"$STRAP" eval pairs --model "$TMP/d1" --ref "$TMP/p0" --pairs "$TMP/pairs.jsonl" --beta 0.5 --batch 3 --threads 1 --out "$TMP/ep1.json" > /dev/null 2>&1 \
    || fail_test "eval pairs, 1 rank"
timeout 120 mpirun --oversubscribe -np 3 "$STRAP" eval pairs --model "$TMP/d1" --ref "$TMP/p0" --pairs "$TMP/pairs.jsonl" --beta 0.5 --batch 3 \
    --threads 1 --out "$TMP/ep3.json" > "$TMP/ep3.log" 2>&1 || fail_test "eval pairs, 3 ranks: $(tail -n 5 "$TMP/ep3.log")"
same_eval "$TMP/ep1.json" "$TMP/ep3.json" || fail_test "eval pairs: 3 ranks differ from 1"
grep -q '"pairs": 10' "$TMP/ep3.json" || fail_test "eval pairs on 3 ranks: not 10 pairs: $(cat "$TMP/ep3.json")"

# dpo --resume on 2 ranks after --stop-after: byte-identical to the uninterrupted 2-rank run
"${MPIRUN[@]}" "$STRAP" dpo "${dargs[@]}" --zero 1 --stop-after 2 --out "$TMP/ds" > "$TMP/ds1.log" 2>&1 || fail_test "dpo --stop-after"
"${MPIRUN[@]}" "$STRAP" dpo "${dargs[@]}" --zero 1 --resume --out "$TMP/ds" > "$TMP/ds2.log" 2>&1 || fail_test "dpo --resume: $(tail -n 3 "$TMP/ds2.log")"
for f in model.safetensors optimizer.safetensors; do
    cmp -s "$TMP/d21/$f" "$TMP/ds/$f" || fail_test "dpo on 2 ranks: $f after --resume differs from the uninterrupted run"
done
same_metrics "$TMP/d21/metrics.jsonl" "$TMP/ds/metrics.jsonl" || fail_test "dpo on 2 ranks: metrics.jsonl after --resume differs from the uninterrupted run"
finish
