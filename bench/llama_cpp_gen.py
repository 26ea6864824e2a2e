#!/usr/bin/env python3
"""The llama.cpp baseline for `strap bench gen` (through the PyPI package llama-cpp-python,
its low-level C API): the same model as a GGUF (F32 or F16, from bench/make_gguf.py), the
same batch, prompt length, new tokens and thread count. Prints JSON with the same keys as
strap. Benchmark-only: nothing in the build or the tests needs llama_cpp.

What is timed, as in bench/bench_gen.c:
  prefill: each of the B prompts decoded as one llama_batch of P tokens (its own sequence
           id, logits of the last position only), one after another; tokens/s = B*P / time.
  decode:  N steps; a step is one llama_batch of B tokens, one per sequence, at the next
           position, logits for every row, then the greedy token of each row (argmax of the
           row's logits); tokens/s = B*N / time.
The prompt is P random token ids (seed 7), the same for every sequence; one untimed prefill
warms up first and the KV cache is cleared before the timed runs. n_threads and
n_threads_batch are both --threads. The KV cache keeps llama.cpp's default type (F16)
unless --kv-f32.

--check-ids "1,2,3" --new N instead prints the greedy continuation of those prompt ids
({"ids": [...]}), to compare with `strap gen --raw --temperature 0 --json` on the same ids.

usage: python3 bench/llama_cpp_gen.py --gguf build/bench/smollm2-f32.gguf --batch 1 --prompt-len 128 --new 32 --threads 2
"""
import argparse
import ctypes
import json
import sys
import time

import numpy as np


def fail(msg):
    print("llama_cpp_gen.py: error: " + msg, file=sys.stderr)
    sys.exit(1)


class Runner:
    def __init__(self, llama_cpp, path, n_ctx, n_batch, n_seq, threads, kv_f32):
        self.ll = ll = llama_cpp
        ll.llama_backend_init()
        mp = ll.llama_model_default_params()
        self.model = ll.llama_model_load_from_file(path.encode(), mp)
        if not self.model:
            fail("%s: llama.cpp could not load the model" % path)
        cp = ll.llama_context_default_params()
        cp.n_ctx = n_ctx
        cp.n_batch = n_batch
        cp.n_ubatch = n_batch
        cp.n_seq_max = n_seq
        cp.n_threads = threads
        cp.n_threads_batch = threads
        cp.kv_unified = True  # all sequences share one cache of n_ctx cells
        if kv_f32:
            cp.type_k = cp.type_v = 0  # GGML_TYPE_F32
        self.ctx = ll.llama_init_from_model(self.model, cp)
        if not self.ctx:
            fail("llama.cpp could not create a context (n_ctx %d, n_seq %d)" % (n_ctx, n_seq))
        self.n_vocab = ll.llama_vocab_n_tokens(ll.llama_model_get_vocab(self.model))
        self.batch = ll.llama_batch_init(n_batch, 0, n_seq)

    def clear(self):
        self.ll.llama_memory_clear(self.ll.llama_get_memory(self.ctx), True)

    def decode(self, tokens, positions, seqs, logits):
        """One llama_batch; returns the logits rows asked for, as an (n, V) array (a copy)."""
        b = self.batch
        for i, (t, p, s, want) in enumerate(zip(tokens, positions, seqs, logits)):
            b.token[i] = t
            b.pos[i] = p
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = s
            b.logits[i] = 1 if want else 0
        b.n_tokens = len(tokens)
        rc = self.ll.llama_decode(self.ctx, b)
        if rc != 0:
            fail("llama_decode returned %d" % rc)
        rows = [i for i, want in enumerate(logits) if want]
        out = np.empty((len(rows), self.n_vocab), dtype=np.float32)
        for r, i in enumerate(rows):
            ptr = self.ll.llama_get_logits_ith(self.ctx, i)
            out[r] = np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=(self.n_vocab,))
        return out

    def prefill(self, prompt, seq):
        n = len(prompt)
        return self.decode(prompt, range(n), [seq] * n, [False] * (n - 1) + [True])[0]

    def close(self):
        self.ll.llama_batch_free(self.batch)
        self.ll.llama_free(self.ctx)
        self.ll.llama_model_free(self.model)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kv-f32", action="store_true", help="F32 KV cache (default: llama.cpp's F16)")
    ap.add_argument("--check-ids", help="comma-separated prompt ids: print the greedy continuation instead")
    args = ap.parse_args()
    if args.batch < 1 or args.prompt_len < 1 or args.new < 1 or args.threads < 1:
        fail("--batch, --prompt-len, --new and --threads must be positive")
    try:
        import llama_cpp
    except ImportError:
        fail("the llama_cpp module is missing (pip install llama-cpp-python)")
    quiet = llama_cpp.llama_log_callback(lambda level, text, user_data: None)  # no load / context chatter
    llama_cpp.llama_log_set(quiet, ctypes.c_void_p(0))

    if args.check_ids:
        prompt = [int(x) for x in args.check_ids.split(",")]
        r = Runner(llama_cpp, args.gguf, len(prompt) + args.new + 16, max(len(prompt), 1), 1, args.threads, args.kv_f32)
        logits, ids = r.prefill(prompt, 0), []
        for i in range(args.new):
            ids.append(int(np.argmax(logits)))
            logits = r.decode([ids[-1]], [len(prompt) + i], [0], [True])[0]
        r.close()
        print(json.dumps({"impl": "llama.cpp", "prompt_ids": prompt, "ids": ids}))
        return

    B, P, N = args.batch, args.prompt_len, args.new
    rng = np.random.default_rng(7)
    r = Runner(llama_cpp, args.gguf, B * (P + N) + 16, max(P, B), B, args.threads, args.kv_f32)
    prompt = [int(t) for t in rng.integers(0, r.n_vocab, P)]
    r.prefill(prompt, 0)  # warm-up
    r.clear()
    t0 = time.perf_counter()
    last = [r.prefill(prompt, b) for b in range(B)]
    prefill = time.perf_counter() - t0
    tokens = [int(np.argmax(l)) for l in last]
    t0 = time.perf_counter()
    for s in range(N):
        logits = r.decode(tokens, [P + s] * B, range(B), [True] * B)
        tokens = [int(t) for t in logits.argmax(axis=1)]
    decode = time.perf_counter() - t0
    r.close()
    gguf_type = "F16" if "f16" in args.gguf.lower() else "F32" if "f32" in args.gguf.lower() else "?"
    print(json.dumps({"bench": "gen", "impl": "llama.cpp", "llama_cpp_python": llama_cpp.__version__,
                      "model": args.gguf, "weights": gguf_type, "device": "cpu", "batch": B, "prompt_len": P,
                      "new": N, "threads": args.threads,
                      "prefill_tokens_per_s": round(B * P / prefill, 1),
                      "decode_tokens_per_s": round(B * N / decode, 1)}))


if __name__ == "__main__":
    main()
