#!/usr/bin/env bash
# strap loop end to end on a tiny random model: two iterations; a crash injected in every
# stage (after the stage's work, before it is marked done, and in the middle of the stage's
# process) then a resume give exactly the files of an uninterrupted run; a resume with other
# options is refused; more --iterations extend a finished run.
source "$(dirname "$0")/lib.bash"
"$STRAP" init --out "$TMP/m0" --vocab 700 --dim 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --max-seq 2048 --seed 3 > /dev/null
cp tests/ref/fixtures/tok/llama3.tokenizer.json "$TMP/m0/tokenizer.json"
# a random model never stops and writes invalid UTF-8: keep cut-off prompts, skip the
# printable-text filter, short answers
loop() {
    "$STRAP" loop --init "$TMP/m0" --prompts 3 --candidates 2 --max-new 6 --synth-max-new 6 \
        --synth-args "--min-words 1 --keep-truncated --no-blacklist" --clean-args "--max-non-printable 1" \
        --max-len 64 --lr 1e-3 --eval-count 3 --eval-text data/demo/stories.txt --eval-text-batches 2 \
        --threads 2 --seed 4 "$@"
}
STAGES="synth gen judge clean pairs dpo eval-pairs winrate eval-ppl"
SEED_STAGES="pack ppl-init" # once per work directory, in W/seed

loop --workdir "$TMP/ref" --iterations 2 > "$TMP/ref.log" 2>&1 || { fail_test "uninterrupted loop: $(tail -5 "$TMP/ref.log")"; finish; }
for t in 01 02; do
    for s in $STAGES; do [ -f "$TMP/ref/iter-$t/.done/$s" ] || fail_test "iteration $t: stage $s not marked done"; done
done
[ -f "$TMP/ref/report.md" ] || fail_test "no report.md"
grep -q "^| 2 |" "$TMP/ref/report.md" || fail_test "report.md has no row for iteration 2"
# pack and M0's perplexity once, then 9 stages per iteration
[ "$(wc -l < "$TMP/ref/commands.log")" -eq 20 ] || fail_test "commands.log should list 20 stage commands"
grep -q "^| 0 (M0) |" "$TMP/ref/report.md" || fail_test "report.md has no perplexity of M0"
python3 -c 'import json, subprocess, sys
r = json.load(open(sys.argv[1]))
n = len(subprocess.run(["zstd", "-dc", sys.argv[2]], capture_output=True, check=True).stdout.splitlines())
assert n == r["generated"] - r["accepted"], (n, r)' "$TMP/ref/iter-01/synth.json" "$TMP/ref/iter-01/synth-rejects.jsonl.zst" \
    || fail_test "iter-01/synth-rejects.jsonl.zst does not hold the dropped generations"
python3 - "$TMP/ref" <<'PY' || fail_test "loop records"
import json, subprocess, sys
w = sys.argv[1]
def records(p):
    return [json.loads(l) for l in subprocess.run(["zstd", "-dc", p], capture_output=True, check=True).stdout.splitlines()]
p1, p2 = records(w + "/iter-01/prompts.jsonl.zst"), records(w + "/iter-02/prompts.jsonl.zst")
assert all(r["iteration"] == 1 and r["id"].startswith("it01-") for r in p1), p1[0]
assert all(r["iteration"] == 2 and r["model"] == w + "/iter-01/model" for r in p2), p2[0]
assert not {r["prompt"] for r in p1} & {r["prompt"] for r in p2}, "iteration 2 repeated a prompt of iteration 1"
c2 = records(w + "/iter-02/candidates.jsonl.zst")
assert {r["model"] for r in c2} == {w + "/iter-01/model"}, "iteration 2 answers come from M1"
pairs = records(w + "/iter-02/pairs.jsonl.zst")
assert pairs and all(r["score_chosen"] > r["score_rejected"] for r in pairs)
ev = json.load(open(w + "/iter-02/eval_pairs.json"))
p0, p2 = json.load(open(w + "/seed/ppl-init.json")), json.load(open(w + "/iter-02/ppl.json"))
assert p0["tokens"] == p2["tokens"] > 0 and p0["ppl"] > 1 and p2["ppl"] > 1, (p0, p2)
assert ev["pairs"] == len(pairs)
seed = open(w + "/seed/seed_prompts.jsonl").read()
assert seed == open("data/synth/seed_prompts.jsonl").read(), "the seed prompts changed"
PY

# crashes: after each stage (its outputs in place, not marked done) and inside it (SIGKILL)
for s in $SEED_STAGES $STAGES; do
    whens="$s"
    case $s in gen|dpo|eval-pairs|ppl-init) whens="$s $s@0" ;; esac # killed inside: a generator, a trainer, a captured stdout
    for when in $whens; do
        w="$TMP/crash-${when/@/-}"
        STRAP_LOOP_CRASH=$when loop --workdir "$w" --iterations 2 > "$w.log" 2>&1
        rc=$?
        [ "$rc" -eq 137 ] || fail_test "STRAP_LOOP_CRASH=$when: exit $rc, expected 137 (SIGKILL)"
        [ -f "$w/iter-01/.done/$s" ] || [ -f "$w/seed/.done/$s" ] && fail_test "STRAP_LOOP_CRASH=$when: $s was marked done"
        loop --workdir "$w" --iterations 2 > "$w.resume.log" 2>&1 || fail_test "resume after a crash in $when: $(tail -3 "$w.resume.log")"
        grep -q "== $s:" "$w.resume.log" || fail_test "the resume after $when did not re-run $s"
        for t in 01 02; do
            for f in prompts candidates judged cleaned pairs; do
                cmp -s <(zstd -dc "$TMP/ref/iter-$t/$f.jsonl.zst" | sed "s#$TMP/ref#W#g") \
                       <(zstd -dc "$w/iter-$t/$f.jsonl.zst" | sed "s#$w#W#g") || fail_test "crash in $when: iter-$t/$f differs"
            done
            cmp -s "$TMP/ref/iter-$t/model/model.safetensors" "$w/iter-$t/model/model.safetensors" || fail_test "crash in $when: iter-$t model differs"
        done
        expect_no_tmp "$w"
    done
done

# a resume must use the options the run started with; more iterations extend it
expect_error 1 "was started with prompts = 3" -- loop --workdir "$TMP/ref" --iterations 2 --prompts 5
loop --workdir "$TMP/ext" --iterations 1 > /dev/null 2>&1 || fail_test "one iteration"
loop --workdir "$TMP/ext" --iterations 2 > "$TMP/ext.log" 2>&1 || fail_test "extend to two iterations"
grep -q "== synth:.*--iteration 1 " "$TMP/ext.log" && fail_test "extending re-ran iteration 1"
cmp -s "$TMP/ref/iter-02/model/model.safetensors" "$TMP/ext/iter-02/model/model.safetensors" || fail_test "an extended run differs from a two-iteration run"
# rejection-sampling SFT before DPO: answers judged >= S, then DPO from the SFT model; the
# win rate judged pointwise (each answer's rubric score)
loop --workdir "$TMP/sft" --iterations 1 --sft-min-score 0.5 --winrate-judge rubric > "$TMP/sft.log" 2>&1 || fail_test "loop with --sft-min-score: $(tail -3 "$TMP/sft.log")"
[ -f "$TMP/sft/iter-01/.done/sft" ] && [ -f "$TMP/sft/iter-01/sft/model.safetensors" ] || fail_test "no SFT stage"
grep -q "== dpo: .*--model $TMP/sft/iter-01/sft " "$TMP/sft.log" || fail_test "DPO did not start from the SFT model"
grep -q '"judge_method": "rubric"' "$TMP/sft/iter-01/winrate.json" && grep -q "judged by each answer's rubric score" "$TMP/sft/report.md" \
    || fail_test "--winrate-judge rubric did not reach eval winrate and the report"
expect_error 2 "--winrate-judge must be logprob, text, rubric or none" -- "$STRAP" loop --init "$TMP/m0" --workdir "$TMP/x" --winrate-judge best
# verifiable rewards: prompts with constraints, a verify stage on the cleaned answers, pairs by
# --reward mix (the judge breaks verify ties), held-out constraint prompts evaluated against M0
# every iteration (M0's answers of iteration 1 reused in iteration 2), no win rate
"$STRAP" verify --prompts-from data/synth/seed_prompts.jsonl --constraints 2 --count 6 --seed 5 --out "$TMP/heldout.jsonl" > /dev/null \
    || fail_test "verify --prompts-from"
loop --workdir "$TMP/ver" --iterations 2 --constraints 2 --constraint-draws 2 --reward mix --heldout "$TMP/heldout.jsonl" \
    --eval-max-new 6 --winrate-judge none --no-repeat-ngram 3 --max-len 256 > "$TMP/ver.log" 2>&1 || fail_test "loop --reward mix: $(tail -3 "$TMP/ver.log")"
for s in synth gen judge clean verify pairs dpo eval-pairs eval-constraints eval-ppl; do
    [ -f "$TMP/ver/iter-01/.done/$s" ] || fail_test "--reward mix: stage $s not done"
done
[ -f "$TMP/ver/iter-01/.done/winrate" ] && fail_test "--winrate-judge none ran the win rate"
grep -q "== gen: .*--no-repeat-ngram 3" "$TMP/ver.log" || fail_test "--no-repeat-ngram did not reach gen"
python3 - "$TMP/ver" <<'PY' || fail_test "loop --reward mix records"
import json, subprocess, sys
w = sys.argv[1]
def records(p):
    return [json.loads(l) for l in subprocess.run(["zstd", "-dc", p], capture_output=True, check=True).stdout.splitlines()]
prompts = records(w + "/iter-01/prompts.jsonl.zst")
assert len(prompts) == 6 and all(1 <= len(r["constraints"]) <= 2 and r["prompt"].startswith(r["base_prompt"]) for r in prompts), prompts[0]
assert all(r["id"].endswith(("-c0", "-c1")) for r in prompts), [r["id"] for r in prompts]
v = records(w + "/iter-01/verified.jsonl.zst")
assert v and all("verify_score" in r and "score" in r for r in v), v[0]
pairs = json.load(open(w + "/iter-01/pairs.json"))
assert pairs["reward"] == "mix" and pairs["pairs"] > 0, pairs
c = json.load(open(w + "/iter-01/constraints.json"))
assert c["prompts"] == 6 and c["baseline"]["model"].endswith("/m0") and 0 <= c["mcnemar_p"] <= 1, c
report = open(w + "/report.md").read()
assert "Verifiable instructions on held-out prompts" in report and "| M1 |" in report and "| M2 |" in report, report
c2 = json.load(open(w + "/iter-02/constraints.json"))
assert c2["baseline_answers"] == w + "/iter-01/constraints.jsonl.zst" and c2["baseline"] == c["baseline"], c2
PY
expect_error 2 "--reward verify checks constraints: give --constraints" -- "$STRAP" loop --init "$TMP/m0" --workdir "$TMP/x" --reward verify
# --launch: gen, judge, dpo and the evals under mpirun -np 2 (CPU ranks): prompts, answers
# and judgements are byte for byte those of one process; those stages start with the launcher
if have_mpi; then
    loop --workdir "$TMP/mpi" --iterations 1 --launch "mpirun --oversubscribe -np 2" > "$TMP/mpi.log" 2>&1 \
        || fail_test "loop --launch mpirun: $(tail -5 "$TMP/mpi.log")"
    for f in prompts candidates judged cleaned pairs; do
        cmp -s <(zstd -dc "$TMP/ref/iter-01/$f.jsonl.zst" | sed "s#$TMP/ref#W#g") \
               <(zstd -dc "$TMP/mpi/iter-01/$f.jsonl.zst" | sed "s#$TMP/mpi#W#g") || fail_test "--launch mpirun: iter-01/$f differs"
    done
    for s in gen judge dpo "eval pairs" "eval winrate" "eval ppl"; do
        grep -q "^mpirun --oversubscribe -np 2 [^ ]*strap $s " "$TMP/mpi/commands.log" || fail_test "--launch: the $s stage did not start with mpirun"
    done
    grep -q "^mpirun .* synth " "$TMP/mpi/commands.log" && fail_test "--launch: synth (one process) started with mpirun"
    [ -f "$TMP/mpi/iter-01/.done/eval-ppl" ] || fail_test "--launch: the iteration did not finish"
    expect_error 1 "give --launch" -- mpirun --oversubscribe -np 2 "$STRAP" loop --init "$TMP/m0" --workdir "$TMP/x"
else
    echo "skipped --launch: no mpirun, or a strap built with MPI=0"
fi
expect_error 1 "the starting model must be a model directory" -- "$STRAP" loop --init "$TMP/nothing" --workdir "$TMP/x"
expect_error 2 "--candidates 1 is out of range: it must be at least 2" -- "$STRAP" loop --init "$TMP/m0" --workdir "$TMP/x" --candidates 1
finish
