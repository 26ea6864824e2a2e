#!/usr/bin/env bash
# strap gen --prompts, strap judge, strap eval winrate and eval judge-accuracy under mpirun
# (CPU ranks): the prompts / answers / pairs are split over the ranks (record i on rank
# i % world) and rank 0 writes the output in input order, so 2 and 3 ranks write byte for
# byte the files of 1 rank (sampling with a seed, -n 2, an odd number of prompts, judge text
# and logprob, more ranks than prompts); only rank 0 prints; a rank that fails stops the job
# and leaves neither the output nor a temp file.
source "$(dirname "$0")/lib.bash"
need_mpi
mpi() { local np=$1; shift; timeout 120 mpirun --oversubscribe -np "$np" "$@"; }

"$STRAP" init --out "$TMP/m" --vocab 700 --dim 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --max-seq 2048 --init-std 0.3 --seed 5 > /dev/null || fail_test "init"
cp tests/ref/fixtures/tok/llama3.tokenizer.json "$TMP/m/tokenizer.json"
python3 - "$TMP/p.jsonl" <<'PY'
import json, sys
topics = ["the sea", "a red fox", "bread", "winter", "a small robot"]  # 5 prompts: an odd number
with open(sys.argv[1], "w") as f:
    for i, t in enumerate(topics):
        f.write(json.dumps({"id": "p%d" % i, "prompt": "Write one line about %s." % t}) + "\n")
PY

# ---- gen: 1, 2 and 3 ranks, -n 2, sampled with a seed, different --batch ----
gargs=(--model "$TMP/m" --prompts "$TMP/p.jsonl" -n 2 --max-new 8 --temperature 0.9 --top-p 0.95 --seed 3 --threads 1)
"$STRAP" gen "${gargs[@]}" --out "$TMP/g1.jsonl.zst" > "$TMP/g1.log" 2>&1 || fail_test "gen, 1 rank: $(tail -n 3 "$TMP/g1.log")"
mpi 2 "$STRAP" gen "${gargs[@]}" --batch 3 --out "$TMP/g2.jsonl.zst" > "$TMP/g2.log" 2>&1 || fail_test "gen, 2 ranks: $(tail -n 5 "$TMP/g2.log")"
mpi 3 "$STRAP" gen "${gargs[@]}" --out "$TMP/g3.jsonl.zst" > "$TMP/g3.log" 2>&1 || fail_test "gen, 3 ranks: $(tail -n 5 "$TMP/g3.log")"
cmp -s "$TMP/g1.jsonl.zst" "$TMP/g2.jsonl.zst" || fail_test "gen: 2 ranks wrote another file than 1 rank"
cmp -s "$TMP/g1.jsonl.zst" "$TMP/g3.jsonl.zst" || fail_test "gen: 3 ranks wrote another file than 1 rank"
python3 - "$TMP/g1.jsonl.zst" <<'PY' || fail_test "gen: the 1-rank records are not 5 prompts x 2 samples in order"
import json, subprocess, sys
out = subprocess.run(["zstd", "-dc", sys.argv[1]], capture_output=True, check=True).stdout.decode()
recs = [json.loads(l) for l in out.splitlines()]
assert [(r["prompt_id"], r["sample"]) for r in recs] == [("p%d" % i, s) for i in range(5) for s in range(2)], recs
assert len({r["text"] for r in recs}) > 1, "every answer is the same: the comparison would prove little"
PY
for n in 2 3; do
    [ "$(grep -c '^wrote 10 answers' "$TMP/g$n.log")" -eq 1 ] || fail_test "gen, $n ranks: not one 'wrote' line (only rank 0 prints): $(cat "$TMP/g$n.log")"
    grep -q "^$n ranks: rank 0 answers" "$TMP/g$n.log" || fail_test "gen, $n ranks: does not say how the prompts are split"
done
expect_no_tmp "$TMP"

# ---- judge: text (sampled, seeded per answer) and logprob, 1 vs 2 ranks ----
zstd -q -dc "$TMP/g1.jsonl.zst" | head -n 9 > "$TMP/answers.jsonl" # 9 answers: an odd number
for method in text logprob; do
    jargs=(--model "$TMP/m" --in "$TMP/answers.jsonl" --method $method --samples 2 --max-new 8 --seed 4 --threads 1)
    "$STRAP" judge "${jargs[@]}" --out "$TMP/j1$method.jsonl" > "$TMP/j1$method.log" 2>&1 \
        || fail_test "judge $method, 1 rank: $(tail -n 3 "$TMP/j1$method.log")"
    mpi 2 "$STRAP" judge "${jargs[@]}" --batch 1 --out "$TMP/j2$method.jsonl" > "$TMP/j2$method.log" 2>&1 \
        || fail_test "judge $method, 2 ranks: $(tail -n 5 "$TMP/j2$method.log")"
    cmp -s "$TMP/j1$method.jsonl" "$TMP/j2$method.jsonl" || fail_test "judge $method: 2 ranks wrote another file than 1 rank"
    [ "$(wc -l < "$TMP/j1$method.jsonl")" -eq 9 ] || fail_test "judge $method: expected 9 judged answers"
    [ "$(grep -c '^judged 9 answers' "$TMP/j2$method.log")" -eq 1 ] || fail_test "judge $method, 2 ranks: not one 'judged' line"
done
grep -q '"judgements"' "$TMP/j1text.jsonl" || fail_test "judge text wrote no judgements"

# ---- eval winrate and judge-accuracy: 1 vs 2 ranks (3 ranks on 2 prompts: one rank idle) ----
"$STRAP" init --out "$TMP/base" --vocab 700 --dim 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --max-seq 2048 --init-std 0.3 --seed 6 > /dev/null || fail_test "init base"
cp tests/ref/fixtures/tok/llama3.tokenizer.json "$TMP/base/tokenizer.json"
for method in logprob text rubric; do
    wargs=(--model "$TMP/m" --baseline "$TMP/base" --judge "$TMP/m" --prompts "$TMP/p.jsonl" --max-new 6 --temperature 0.9
           --seed 7 --judge-method $method --judge-max-new 6 --judge-temperature 0.8 --threads 1)
    "$STRAP" eval winrate "${wargs[@]}" --out "$TMP/w1$method.json" --markdown "$TMP/w1$method.md" --records "$TMP/w1$method.jsonl" \
        > "$TMP/w1$method.log" 2>&1 || fail_test "winrate $method, 1 rank: $(tail -n 3 "$TMP/w1$method.log")"
    mpi 2 "$STRAP" eval winrate "${wargs[@]}" --batch 1 --out "$TMP/w2$method.json" --markdown "$TMP/w2$method.md" \
        --records "$TMP/w2$method.jsonl" > "$TMP/w2$method.log" 2>&1 || fail_test "winrate $method, 2 ranks: $(tail -n 5 "$TMP/w2$method.log")"
    for f in json md jsonl; do
        cmp -s "$TMP/w1$method.$f" "$TMP/w2$method.$f" || fail_test "winrate $method: 2 ranks wrote another .$f than 1 rank"
    done
    [ "$(wc -l < "$TMP/w1$method.jsonl")" -eq 5 ] || fail_test "winrate $method: expected 5 compared prompts"
    [ "$(grep -c '^winrate: 2 ranks: rank 0 compares 3 of the 5 prompts' "$TMP/w2$method.log")" -eq 1 ] \
        || fail_test "winrate $method, 2 ranks: not one line saying how the prompts are split: $(cat "$TMP/w2$method.log")"
done
python3 - "$TMP/w1text.jsonl" <<'PY' || fail_test "winrate text: the answers of the 5 prompts are not seeded per prompt"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["prompt_id"] for r in recs] == ["p%d" % i for i in range(5)], recs
assert len({r["answer_model"] for r in recs}) > 1 and len({r["judgement_model_first"] for r in recs}) > 1, recs
PY
head -n 2 "$TMP/p.jsonl" > "$TMP/p2.jsonl"
wargs=(--model "$TMP/m" --baseline "$TMP/base" --judge "$TMP/m" --prompts "$TMP/p2.jsonl" --max-new 4 --seed 7 --threads 1)
"$STRAP" eval winrate "${wargs[@]}" --out "$TMP/w1idle.json" --records "$TMP/w1idle.jsonl" > /dev/null 2>&1 || fail_test "winrate, 2 prompts, 1 rank"
mpi 3 "$STRAP" eval winrate "${wargs[@]}" --out "$TMP/w3idle.json" --records "$TMP/w3idle.jsonl" > "$TMP/w3idle.log" 2>&1 \
    || fail_test "winrate, 2 prompts on 3 ranks: $(tail -n 5 "$TMP/w3idle.log")"
cmp -s "$TMP/w1idle.json" "$TMP/w3idle.json" && cmp -s "$TMP/w1idle.jsonl" "$TMP/w3idle.jsonl" \
    || fail_test "winrate, 2 prompts: 3 ranks (one idle) wrote another report than 1 rank"

python3 - "$TMP/w1text.jsonl" "$TMP/labelled.jsonl" <<'PY'
import json, sys
with open(sys.argv[2], "w") as f:
    for r in map(json.loads, open(sys.argv[1])):
        f.write(json.dumps({"prompt_id": r["prompt_id"], "prompt": r["prompt"], "chosen": r["answer_model"], "rejected": r["answer_baseline"]}) + "\n")
PY
for method in logprob text; do
    aargs=(--judge "$TMP/m" --labelled "$TMP/labelled.jsonl" --judge-method $method --judge-max-new 6 --judge-temperature 0.8 --seed 2 --threads 1)
    "$STRAP" eval judge-accuracy "${aargs[@]}" --out "$TMP/a1$method.json" --records "$TMP/a1$method.jsonl" > "$TMP/a1$method.log" 2>&1 \
        || fail_test "judge-accuracy $method, 1 rank: $(tail -n 3 "$TMP/a1$method.log")"
    mpi 2 "$STRAP" eval judge-accuracy "${aargs[@]}" --out "$TMP/a2$method.json" --records "$TMP/a2$method.jsonl" > "$TMP/a2$method.log" 2>&1 \
        || fail_test "judge-accuracy $method, 2 ranks: $(tail -n 5 "$TMP/a2$method.log")"
    cmp -s "$TMP/a1$method.json" "$TMP/a2$method.json" && cmp -s "$TMP/a1$method.jsonl" "$TMP/a2$method.jsonl" \
        || fail_test "judge-accuracy $method: 2 ranks wrote another report or records than 1 rank"
done
grep -q '"rubric"' "$TMP/a1logprob.json" || fail_test "judge-accuracy: no rubric scores in the 2-rank report"

# ---- a rank that fails ----
# rank 1 alone reads a file whose 4th answer (index 3: rank 1's) has no text; rank 0 finishes
# its share and waits: the job stops naming rank 1, and nothing is written
sed '4s/"text"/"txet"/' "$TMP/answers.jsonl" > "$TMP/bad.jsonl"
mkdir -p "$TMP/fail"
jargs=(--model "$TMP/m" --method logprob --threads 1 --out "$TMP/fail/judged.jsonl")
timeout 60 mpirun --oversubscribe -np 1 "$STRAP" judge "${jargs[@]}" --in "$TMP/answers.jsonl" \
    : -np 1 "$STRAP" judge "${jargs[@]}" --in "$TMP/bad.jsonl" > "$TMP/fail.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] || fail_test "a failing rank: the job exited 0"
[ "$rc" -ne 124 ] || fail_test "a failing rank hung the job (killed by timeout)"
grep -q "bad.jsonl:4: an answer record needs prompt and text" "$TMP/fail.log" || fail_test "no message about the bad answer: $(head -n 5 "$TMP/fail.log")"
grep -q "rank 1 of 2 failed" "$TMP/fail.log" || fail_test "the message does not name rank 1: $(head -n 5 "$TMP/fail.log")"
[ -z "$(ls -A "$TMP/fail")" ] || fail_test "a failed job left files: $(ls -A "$TMP/fail")"

# gen --prompt (one streamed answer) is for one process
expect_error 2 "under mpirun give --prompts" -- mpi 2 "$STRAP" gen --model "$TMP/m" --prompt "hi" --max-new 4
finish
