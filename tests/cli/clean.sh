#!/usr/bin/env bash
# strap data clean end to end: a .jsonl.zst corpus with known defects -> cleaned records,
# removed records (with reasons) and the report; counts checked with python3; determinism;
# bad input leaves nothing behind; usage errors exit 2.
source "$(dirname "$0")/lib.bash"
command -v python3 > /dev/null || { echo "python3 missing"; exit 1; }
command -v zstd > /dev/null || { echo "zstd missing"; exit 1; }

# the corpus: 60 distinct paragraphs plus records with known defects
python3 - "$TMP/in.jsonl" << 'EOF'
import json, random, sys
random.seed(3)
vocab = ["w%d" % i for i in range(3000)]
def para(n):
    return " ".join(random.choice(vocab) for _ in range(n)) + "."
recs, expect = [], {}
def add(text, why=None, **extra):
    recs.append(dict(id=len(recs), text=text, **extra))
    if why: expect[why] = expect.get(why, 0) + 1
base = [para(300) for _ in range(60)]
for p in base: add(p, None, score=0.85, meta={"src": "synthetic", "tags": ["a", "b"]})
add(base[3], "exact_duplicate")
add("  " + base[4].replace(" ", "   ", 10) + "  \n", "exact_duplicate")   # same after normalisation
add(base[5].replace(" ", " zz ", 1), "near_duplicate")                   # one word inserted
w = base[6].split(" "); w[150] = "changed"; add(" ".join(w), "near_duplicate")
add("tiny", "too_short")
add("<|im_start|>assistant\n<|im_end|>", "unrepairable")
add("spam and eggs " * 30 + "end.", "repetitive")
add("\u200b" * 20 + "hidden text here.", "non_printable")
add("Cafe\u0301 au lait is " + para(10))                                # kept, NFC
add("<|im_start|>user\nWhat is strap?<|im_end|>\n<|im_start|>assistant\nA trainer written in C. " + para(20) + "<|im_end|>")
add("Here is code:\n```c\nint main(void) { return 0; }")                # unclosed fence
add(para(40) + " " + para(30) + " and then it stops in the mid")         # cut-off sentence
add(recs[63]["text"], "exact_duplicate")                                 # a copy of a near-duplicate
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for r in recs:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
    f.write("\n")                                                        # blank lines are skipped
with open(sys.argv[1], "ab") as f:                                       # invalid UTF-8, two ways
    f.write(b'{"id": %d, "text": "a raw \xff byte makes this record invalid."}\n' % len(recs))
    f.write(b'{"id": %d, "text": "a lone surrogate \\ud800 is not UTF-8 either."}\n' % (len(recs) + 1))
expect["invalid_utf8"] = 2
json.dump({"n": len(recs) + 2, "removed": expect}, open(sys.argv[1] + ".expect", "w"))
EOF
zstd -q "$TMP/in.jsonl" -o "$TMP/in.jsonl.zst" || fail_test "zstd"

"$STRAP" data clean --input "$TMP/in.jsonl.zst" --out "$TMP/out.jsonl.zst" --report "$TMP/report.json" \
    --dropped "$TMP/dropped.jsonl.zst" > "$TMP/clean.log" 2> "$TMP/clean.err" || fail_test "data clean: $(cat "$TMP/clean.err")"
grep -q "LSH 8 bands x 16 rows" "$TMP/clean.log" || fail_test "chosen bands x rows not printed: $(cat "$TMP/clean.log")"
expect_no_tmp "$TMP"

python3 - "$TMP" << 'EOF' || fail_test "report / output checks"
import json, subprocess, sys, unicodedata
tmp = sys.argv[1]
def records(path):
    out = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    return [json.loads(l) for l in out.decode("utf-8").splitlines() if l.strip()]
exp = json.load(open(tmp + "/in.jsonl.expect"))
rep = json.load(open(tmp + "/report.json"))
kept, gone = records(tmp + "/out.jsonl.zst"), records(tmp + "/dropped.jsonl.zst")
errors = []
def check(ok, msg):
    if not ok: errors.append(msg)
n = exp["n"]
check(rep["records_in"] == n, "records_in %d, expected %d" % (rep["records_in"], n))
check(rep["records_out"] == len(kept), "records_out %d but %d kept" % (rep["records_out"], len(kept)))
check(len(kept) + len(gone) == n, "output %d + dropped %d != input %d" % (len(kept), len(gone), n))
check(sorted(r["id"] for r in kept + gone) == list(range(n)), "every input record is in exactly one file")
for why, count in exp["removed"].items():
    check(rep["removed"][why] == count, "removed[%s] = %d, expected %d" % (why, rep["removed"][why], count))
check(rep["removed_total"] == sum(exp["removed"].values()), "removed_total %d" % rep["removed_total"])
check(sum(1 for r in gone if r["drop_reason"] == "near_duplicate") == exp["removed"]["near_duplicate"], "dropped near dups")
check(rep["near_dedup"]["bands"] * rep["near_dedup"]["rows"] == 128, "bands x rows")
check(rep["near_dedup"]["clusters"] == 2 and rep["near_dedup"]["cluster_sizes"] == {"2": 2}, "clusters %s" % rep["near_dedup"])
ids = {r["id"]: r for r in kept}
for r in gone:
    check("drop_reason" in r, "dropped record %d has no drop_reason" % r["id"])
    if r["drop_reason"] in ("exact_duplicate", "near_duplicate"):
        check(r.get("duplicate_of") in ids, "record %d: duplicate_of %s is not a kept record" % (r["id"], r.get("duplicate_of")))
check({r["id"]: r["duplicate_of"] for r in gone if "duplicate_of" in r} == {60: 3, 61: 4, 62: 5, 63: 6, 72: 6}, "duplicate_of")
for why, examples in rep["examples"].items():
    check(0 < len(examples) <= 3 and all(len(e["text"]) <= 200 for e in examples), "examples for " + why)
for r in kept:
    t = r["text"]
    check(unicodedata.normalize("NFC", t) == t, "record %d not NFC" % r["id"])
    check("<|im_" not in t, "record %d keeps a chat marker" % r["id"])
    check(t.count("```") % 2 == 0, "record %d has an unclosed fence" % r["id"])
    if r["id"] < 60:
        check(r["score"] == 0.85 and r["meta"] == {"src": "synthetic", "tags": ["a", "b"]}, "fields of %d changed" % r["id"])
check(ids[68]["text"].startswith("Caf\u00e9 au lait"), "NFC: %r" % ids[68]["text"][:12])
check(ids[69]["text"].startswith("What is strap?\nA trainer written in C."), "markers: %r" % ids[69]["text"][:40])
check(ids[70]["text"].endswith("return 0; }\n```"), "fence: %r" % ids[70]["text"])
check(ids[71]["text"].endswith(".") and "stops in the mid" not in ids[71]["text"], "cut-off: %r" % ids[71]["text"][-30:])
check(rep["repaired_in_output"]["fences_closed"] == 1 and rep["repaired_in_output"]["cut_offs_trimmed"] == 1, "repairs")
# the kept lines keep the other fields byte for byte
raw_in = [l for l in open(tmp + "/in.jsonl", encoding="utf-8", errors="replace").read().splitlines() if l.strip()]
raw_out = subprocess.run(["zstd", "-dc", tmp + "/out.jsonl.zst"], check=True, capture_output=True).stdout.decode().splitlines()
check(raw_out[0] == raw_in[0], "an unchanged record is byte-identical")
for e in errors: print("  " + e)
sys.exit(1 if errors else 0)
EOF

# deterministic: same bytes with one thread, plain .jsonl output works too
"$STRAP" data clean --input "$TMP/in.jsonl.zst" --out "$TMP/out2.jsonl.zst" --dropped "$TMP/dropped2.jsonl.zst" --threads 1 --quiet > /dev/null || fail_test "second run"
cmp -s "$TMP/out.jsonl.zst" "$TMP/out2.jsonl.zst" || fail_test "output differs between runs (threads)"
cmp -s "$TMP/dropped.jsonl.zst" "$TMP/dropped2.jsonl.zst" || fail_test "dropped differs between runs"
"$STRAP" data clean --input "$TMP/in.jsonl" --out "$TMP/out3.jsonl" --quiet > /dev/null 2>&1 || fail_test "plain .jsonl in and out"
zstd -dc "$TMP/out.jsonl.zst" | cmp -s - "$TMP/out3.jsonl" || fail_test ".jsonl and .jsonl.zst outputs differ"
# --field, --no-near-dedup, --min-words
python3 -c "
import json
with open('$TMP/body.jsonl', 'w') as f:
    for i in range(3): f.write(json.dumps({'body': 'the same sentence about strap and models, number one.', 'text': i}) + '\n')
    f.write(json.dumps({'body': 'a different sentence that is also long enough.', 'text': 9}) + '\n')
"
"$STRAP" data clean --input "$TMP/body.jsonl" --out "$TMP/body_out.jsonl" --field body --min-words 9 --no-near-dedup --quiet > "$TMP/body.log" || fail_test "--field body"
[ "$(wc -l < "$TMP/body_out.jsonl")" = 1 ] || fail_test "--field body: expected 1 record out (1 exact dup x2, 1 too few words), got $(cat "$TMP/body_out.jsonl")"
grep -q "too_few_words" "$TMP/body.log" || fail_test "--min-words not reported"

# bad input: exit 1 naming file:line, nothing half-written (no output, no temp)
mkdir -p "$TMP/bad"
{ zstd -dc "$TMP/in.jsonl.zst"; echo '{"text": "unterminated}'; } | zstd -q -o "$TMP/bad/in.jsonl.zst"
expect_error 1 "in.jsonl.zst:77: invalid JSON" -- "$STRAP" data clean --input "$TMP/bad/in.jsonl.zst" --out "$TMP/bad/out.jsonl.zst" --report "$TMP/bad/r.json" --dropped "$TMP/bad/d.jsonl.zst" --quiet
[ ! -e "$TMP/bad/out.jsonl.zst" ] && [ ! -e "$TMP/bad/r.json" ] && [ ! -e "$TMP/bad/d.jsonl.zst" ] || fail_test "files written despite bad input"
expect_no_tmp "$TMP/bad"
echo '{"body": "no text field"}' > "$TMP/bad/nofield.jsonl"
expect_error 1 "nofield.jsonl:1: field 'text' missing" -- "$STRAP" data clean --input "$TMP/bad/nofield.jsonl" --out "$TMP/bad/o.jsonl" --quiet
head -c 300 "$TMP/in.jsonl.zst" > "$TMP/bad/trunc.jsonl.zst"
expect_error 1 "trunc.jsonl.zst: (truncated|corrupt)" -- "$STRAP" data clean --input "$TMP/bad/trunc.jsonl.zst" --out "$TMP/bad/o.jsonl" --quiet
expect_error 1 "cannot read" -- "$STRAP" data clean --input "$TMP/nope.jsonl" --out "$TMP/bad/o.jsonl"
expect_error 1 "directory .*/nodir does not exist" -- "$STRAP" data clean --input "$TMP/in.jsonl.zst" --out "$TMP/nodir/o.jsonl" --quiet
[ ! -e "$TMP/bad/o.jsonl" ] || fail_test "output written despite bad input"
expect_no_tmp "$TMP/bad"

# usage errors: exit 2
expect_error 2 "--out is required" -- "$STRAP" data clean --input "$TMP/in.jsonl.zst"
expect_error 2 "--input is required" -- "$STRAP" data clean --out "$TMP/o.jsonl"
expect_error 2 "--perm 300 is out of range: it must be in \\[1, 256\\]" -- "$STRAP" data clean --input "$TMP/in.jsonl.zst" --out "$TMP/o.jsonl" --perm 300
expect_error 2 "--threshold 1.5 is out of range: it must be in \\(0, 1\\]" -- "$STRAP" data clean --input "$TMP/in.jsonl.zst" --out "$TMP/o.jsonl" --threshold 1.5
expect_error 2 "name it .jsonl or .jsonl.zst" -- "$STRAP" data clean --input "$TMP/in.jsonl.zst" --out "$TMP/o.txt"
expect_error 2 "must be different files" -- "$STRAP" data clean --input "$TMP/in.jsonl.zst" --out "$TMP/o.jsonl" --dropped "$TMP/o.jsonl"
expect_error 2 "unknown flag" -- "$STRAP" data clean --input "$TMP/in.jsonl.zst" --out "$TMP/o.jsonl" --bogus
expect_error 2 "expects a number" -- "$STRAP" data clean --input "$TMP/in.jsonl.zst" --out "$TMP/o.jsonl" --max-repeat lots
finish
