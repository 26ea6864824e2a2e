#!/usr/bin/env python3
"""Writes the GGUF fixtures that tests/test_gguf.c and tests/cli/convert.sh check
`strap convert --gguf` against, into tests/ref/fixtures/gguf/.

quants.gguf + quants_expected.safetensors
    One tensor per dtype strap dequantises (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K,
    Q6_K), ne = [512, 3]. The quantised blocks are random bytes (with the fp16 scale fields
    set to finite values), so every bit of the block layouts is exercised; the reference is
    gguf.quants.dequantize (gguf-py, llama.cpp's own Python package) in GGUF shape (3, 512).
    Also one metadata key of every GGUF value type (strap.test.*), for the reader test.

tiny_llama.gguf + tiny_llama_expected.safetensors + tiny_llama_expected.json
    A random Hugging Face LlamaForCausalLM (vocab 324, hidden 64, 2 layers, 4 heads, 2 kv
    heads, ffn 96, untied), converted the way llama.cpp's convert_hf_to_gguf.py does it
    (q_proj/k_proj rows permuted from rotate-half to interleaved pairs, GGUF names, ne[0] the
    fastest dimension), its tensors stored in F32, F16, BF16, Q8_0, Q4_0 and Q4_1. The
    tokenizer is a byte-level BPE trained here with `tokenizers` (Llama 3 pre-tokenizer,
    tokenizer.ggml.pre "llama-bpe", ignore_merges, 3 control tokens, 1 user-defined token,
    3 unused [PAD] ids up to the embedding's 324 rows) plus a Llama 3 style chat template.
    The expected file holds, under Hugging Face names and shapes, the fp32 weights the GGUF
    dequantises to (gguf.quants.dequantize, permutation undone), the logits of the Hugging
    Face model built from exactly those weights (computed in float64) for a batch of tokens,
    and the ids the original HF tokenizer gives for a few strings (in the .json).

tiny_tied.gguf + tiny_tied_expected.safetensors
    A second random model with tied embeddings (no output.weight; vocab 324, hidden 32,
    3 layers, 2 heads, 1 kv head, ffn 256), tokenizer.ggml.pre "smollm", general.alignment
    64, and ffn_down in Q4_K, Q5_K and Q6_K (ne[0] = 256: K-quants need rows of 256). gguf-py
    cannot quantise K-quants, so this script does (a plain min/max quantiser; gguf-py's
    dequantize is still the reference). Expected: logits and tokenizer ids.

usage: python3 tests/ref/make_gguf_fixtures.py   (pip install torch transformers tokenizers gguf numpy safetensors)
"""
import json
import os

import numpy as np
import torch
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType, GGUFWriter, TokenType
from gguf.quants import dequantize, quantize
from safetensors.numpy import save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "gguf")
ROOT = os.path.join(HERE, "..", "..")
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
USER_TOKEN = "<think>"  # a non-special added token (GGUF USER_DEFINED)
LLAMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    " + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
TEXTS = [
    "Hello world! This is a test.",
    "Tom found a red ball at the park. 3 plus 3 is 6.",
    "Digits: 1 12 123 1234 12345 3.14159 007",
    "    indented\n\n\n  blank lines\r\n\ttab\t\tend   ",
    "It's THEY'RE we'll I'M don't",
    "<|begin_of_text|>user said <think>hi</think><|eot_id|>",
    "Привет, мир! 東京 😀",
]
PPL_TEXT = "Once upon a time, a little girl named Lily found a shiny red ball in the park."
V_MODEL = 324  # embedding rows: 321 tokenizer ids + 3 unused [PAD] ids


# ---------------------------------------------------------------------------------------
# tokenizer

def train_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    corpus = open(os.path.join(ROOT, "data", "demo", "stories.txt")).read()[:40000].split("\n\n")
    tok.train_from_iterator(corpus, trainer)
    tok.add_tokens([AddedToken(USER_TOKEN, special=False, normalized=False)])
    return tok


def hf_tokenizer(base, style):
    """The same vocabulary and merges under the pre-tokenizer of `style`."""
    d = json.loads(base.to_str())
    m = d["model"]
    if style == "llama-bpe":
        d["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
        m["ignore_merges"] = True
    elif style == "smollm":
        d["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
        m["ignore_merges"] = False
    return Tokenizer.from_str(json.dumps(d))


def gguf_vocab(tok):
    """tokens, token types and merges as llama.cpp's converter writes them for a gpt2 model."""
    d = json.loads(tok.to_str())
    vocab = tok.get_vocab(with_added_tokens=True)
    rev = {i: t for t, i in vocab.items()}
    added = {a["id"]: a for a in d["added_tokens"]}
    tokens, types = [], []
    for i in range(V_MODEL):
        if i not in rev:
            tokens.append(f"[PAD{i}]")
            types.append(TokenType.UNUSED)
        elif i in added:
            tokens.append(rev[i])
            types.append(TokenType.CONTROL if added[i]["special"] else TokenType.USER_DEFINED)
        else:
            tokens.append(rev[i])
            types.append(TokenType.NORMAL)
    merges = [" ".join(m) if isinstance(m, list) else m for m in d["model"]["merges"]]
    return tokens, types, merges


# ---------------------------------------------------------------------------------------
# quantisation (gguf-py quantises Q8_0/Q4_0/Q4_1/BF16; the K-quants are done here)

def f16_bytes(x):
    return np.asarray(x, dtype=np.float16).view(np.uint8).reshape(-1, 2)


def quant_q4_k(x, q5=False):
    """A plain min/max Q4_K / Q5_K quantiser: 8 sub-blocks of 32, x ~ d*sc*q - dmin*m."""
    nq = 31 if q5 else 15
    b = x.reshape(-1, 8, 32).astype(np.float32)
    mn = np.maximum(-b.min(axis=2), 0)                       # subtracted minimum, >= 0
    scale = (b.max(axis=2) + mn) / nq
    d = np.maximum(scale.max(axis=1), 1e-8) / 63
    dmin = np.maximum(mn.max(axis=1), 1e-8) / 63
    d16, dmin16 = d.astype(np.float16), dmin.astype(np.float16)
    sc = np.clip(np.round(scale / d16.astype(np.float32)[:, None]), 1, 63).astype(np.uint8)
    m = np.clip(np.round(mn / dmin16.astype(np.float32)[:, None]), 0, 63).astype(np.uint8)
    step = (d16.astype(np.float32)[:, None] * sc)[:, :, None]
    off = (dmin16.astype(np.float32)[:, None] * m)[:, :, None]
    q = np.clip(np.round((b + off) / step), 0, nq).astype(np.uint8).reshape(-1, 256)
    scales = np.zeros((len(b), 12), np.uint8)
    scales[:, 0:4] = (sc[:, 0:4] & 63) | ((sc[:, 4:8] >> 4) << 6)
    scales[:, 4:8] = (m[:, 0:4] & 63) | ((m[:, 4:8] >> 4) << 6)
    scales[:, 8:12] = (sc[:, 4:8] & 15) | ((m[:, 4:8] & 15) << 4)
    qc = q.reshape(-1, 4, 2, 32)                              # 64-value chunks: low / high nibbles
    qs = ((qc[:, :, 0] & 15) | ((qc[:, :, 1] & 15) << 4)).reshape(-1, 128)
    parts = [f16_bytes(d16), f16_bytes(dmin16), scales]
    if q5:
        hi = (q.reshape(-1, 8, 32) >> 4) & 1                   # bit j of qh[l]: value 32*j + l
        qh = np.zeros((len(b), 32), np.uint8)
        for j in range(8):
            qh |= (hi[:, j] << j).astype(np.uint8)
        parts.append(qh)
    parts.append(qs)
    return np.concatenate(parts, axis=1)


def quant_q6_k(x):
    """Q6_K: 16 sub-blocks of 16, x ~ d*sc*(q - 32), int8 scales."""
    b = x.reshape(-1, 16, 16).astype(np.float32)
    scale = np.abs(b).max(axis=2) / 31
    d = np.maximum(scale.max(axis=1), 1e-8) / 127
    d16 = d.astype(np.float16)
    sc = np.clip(np.round(scale / d16.astype(np.float32)[:, None]), 1, 127).astype(np.int8)
    step = (d16.astype(np.float32)[:, None] * sc)[:, :, None]
    q = (np.clip(np.round(b / step), -32, 31) + 32).astype(np.uint8).reshape(-1, 2, 4, 32)
    ql = np.concatenate([(q[:, :, 0] & 15) | ((q[:, :, 2] & 15) << 4),
                         (q[:, :, 1] & 15) | ((q[:, :, 3] & 15) << 4)], axis=2).reshape(-1, 128)
    qh = ((q[:, :, 0] >> 4) | ((q[:, :, 1] >> 4) << 2) | ((q[:, :, 2] >> 4) << 4) |
          ((q[:, :, 3] >> 4) << 6)).reshape(-1, 64)
    return np.concatenate([ql, qh, sc.view(np.uint8), f16_bytes(d16)], axis=1)


def quant(w, qtype):
    """w: (rows, ne0) float32 -> (data for GGUFWriter.add_tensor, raw_dtype)."""
    if qtype == Q.F32:
        return w.astype(np.float32), None
    if qtype == Q.F16:
        return w.astype(np.float16), None
    if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
        blocks = quant_q6_k(w) if qtype == Q.Q6_K else quant_q4_k(w, q5=qtype == Q.Q5_K)
        return blocks.reshape(w.shape[0], -1), qtype
    return quantize(w.astype(np.float32), qtype), qtype


def dequant(data, raw_dtype, shape):
    if raw_dtype is None:
        return data.astype(np.float32).reshape(shape)
    return dequantize(data, raw_dtype).reshape(shape).astype(np.float32)


# ---------------------------------------------------------------------------------------
# HF -> GGUF, as llama.cpp's convert_hf_to_gguf.py (LlamaModel.modify_tensors)

def permute(w, n_head):
    """rotate-half rows -> interleaved pairs: within each head, row j*(D/2)+i -> 2i+j."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def inverse(perm_fn, w, n_head):
    idx = perm_fn(np.arange(w.shape[0]), n_head)  # idx[g] = HF row stored at GGUF row g
    out = np.empty_like(w)
    out[idx] = w
    return out


def gguf_name(hf):
    parts = hf.split(".")
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    l = parts[2]
    table = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down"}
    return f"blk.{l}.{table['.'.join(parts[3:-1])]}.weight"


def write_model(name, cfg, types, tok, pre, template, seed, alignment=None):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    config = LlamaConfig(**cfg, attn_implementation="eager", torch_dtype="float32")
    model = LlamaForCausalLM(config).float()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            p.copy_(1 + 0.1 * torch.randn_like(p) if "norm" in pname else 0.25 * torch.randn_like(p))
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg["hidden_size"] // H

    w = GGUFWriter(os.path.join(OUT, f"{name}.gguf"), "llama")
    if alignment:
        w.add_custom_alignment(alignment)
    w.add_name(f"strap test {name}")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_rope_dimension_count(D)
    w.add_head_count(H)
    w.add_head_count_kv(KV)
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_vocab_size(cfg["vocab_size"])
    w.add_file_type(7)
    tokens, toktypes, merges = gguf_vocab(tok)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(toktypes)
    w.add_token_merges(merges)
    vocab = tok.get_vocab()
    w.add_bos_token_id(vocab["<|begin_of_text|>"])
    w.add_eos_token_id(vocab["<|end_of_text|>"])
    if pre == "llama-bpe":
        w.add_eot_token_id(vocab["<|eot_id|>"])
        w.add_add_bos_token(True)
    else:
        w.add_pad_token_id(vocab["<|end_of_text|>"])
        w.add_add_bos_token(False)
    w.add_chat_template(template)

    expected, seen = {}, {}
    ref = {}
    for hf_name, p in model.state_dict().items():
        if cfg.get("tie_word_embeddings") and hf_name == "lm_head.weight":
            continue
        wt = p.detach().numpy().astype(np.float32)
        if hf_name.endswith("q_proj.weight"):
            wt, heads = permute(wt, H), H
        elif hf_name.endswith("k_proj.weight"):
            wt, heads = permute(wt, KV), KV
        else:
            heads = None
        g = gguf_name(hf_name)
        qtype = Q.F32 if wt.ndim == 1 else types[g]
        data, raw = quant(wt, qtype)
        w.add_tensor(g, data, raw_dtype=raw)
        dq = dequant(data, raw, wt.shape)
        assert np.abs(dq - wt).max() <= 0.2 * np.abs(wt).max(), (g, np.abs(dq - wt).max())
        seen[qtype.name] = seen.get(qtype.name, 0) + 1
        if heads is not None:
            dq = inverse(permute, dq, heads)
        ref[hf_name] = dq
        expected[hf_name] = dq
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # the HF model on exactly the dequantised weights, in float64
    with torch.no_grad():
        sd = {k: torch.from_numpy(v) for k, v in ref.items()}
        if cfg.get("tie_word_embeddings"):
            sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
        model.load_state_dict(sd)
        model = model.double()
        tokens_in = torch.from_numpy(rng.integers(0, cfg["vocab_size"], (2, 9)))
        logits = model(input_ids=tokens_in).logits
        ppl_ids = hf_tokenizer(tok, pre).encode(PPL_TEXT, add_special_tokens=False).ids
        x = torch.tensor([ppl_ids])
        lp = torch.log_softmax(model(input_ids=x).logits[0, :-1], dim=-1)
        ppl_loss = -lp.gather(1, x[0, 1:, None]).mean().item()
    expected["tokens"] = tokens_in.numpy().astype(np.int32)
    expected["logits"] = logits.float().numpy()
    if not name.endswith("llama"):  # keep the tied fixture small: logits only
        expected = {k: v for k, v in expected.items() if k in ("tokens", "logits")}
    save_file({k: np.ascontiguousarray(v) for k, v in expected.items()},
              os.path.join(OUT, f"{name}_expected.safetensors"))
    hft = hf_tokenizer(tok, pre)
    cases = {"texts": TEXTS, "ids": [hft.encode(t, add_special_tokens=False).ids for t in TEXTS],
             "ppl_text": PPL_TEXT, "ppl_ids": ppl_ids, "ppl_loss": ppl_loss, "types": seen,
             "tokenizers_version": __import__("tokenizers").__version__,
             "transformers_version": __import__("transformers").__version__}
    for t, ids in zip(TEXTS, cases["ids"]):
        assert hft.decode(ids, skip_special_tokens=False) == t, t
    with open(os.path.join(OUT, f"{name}_expected.json"), "w") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)
    print(f"{name}.gguf: {sum(seen.values())} tensors {seen}, ppl loss {ppl_loss:.6f}")


# ---------------------------------------------------------------------------------------
# one tensor per dtype from random blocks, and one metadata key per value type

def random_blocks(rng, qtype, n_rows, ne0):
    from gguf.constants import GGML_QUANT_SIZES
    bs, ts = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, (n_rows * ne0 // bs, ts), dtype=np.uint8)
    def set_f16(col, scale):  # finite fp16 scale fields
        blocks[:, col:col + 2] = f16_bytes(rng.uniform(-scale, scale, len(blocks)))
    if qtype in (Q.Q8_0, Q.Q4_0):
        set_f16(0, 0.05)
    elif qtype == Q.Q4_1:
        set_f16(0, 0.05), set_f16(2, 0.5)
    elif qtype in (Q.Q4_K, Q.Q5_K):
        set_f16(0, 0.01), set_f16(2, 0.01)
    elif qtype == Q.Q6_K:
        set_f16(ts - 2, 0.01)
    return blocks.reshape(n_rows, -1)


def write_quants():
    rng = np.random.default_rng(7)
    w = GGUFWriter(os.path.join(OUT, "quants.gguf"), "llama")
    kv = [("u8", 200, GGUFValueType.UINT8), ("i8", -100, GGUFValueType.INT8),
          ("u16", 60000, GGUFValueType.UINT16), ("i16", -30000, GGUFValueType.INT16),
          ("u32", 4000000000, GGUFValueType.UINT32), ("i32", -2000000000, GGUFValueType.INT32),
          ("u64", 2**63 + 5, GGUFValueType.UINT64), ("i64", -(2**62) - 3, GGUFValueType.INT64),
          ("f32", 0.15625, GGUFValueType.FLOAT32), ("f64", -2.5e-300, GGUFValueType.FLOAT64),
          ("bool", True, GGUFValueType.BOOL), ("str", "héllo wörld", GGUFValueType.STRING)]
    for key, val, vt in kv:
        w.add_key_value(f"strap.test.{key}", val, vt)
    w.add_key_value("strap.test.arr_i32", [1, -2, 3], GGUFValueType.ARRAY, GGUFValueType.INT32)
    w.add_key_value("strap.test.arr_u8", [7, 8], GGUFValueType.ARRAY, GGUFValueType.UINT8)
    w.add_key_value("strap.test.arr_f32", [0.5, -1.25], GGUFValueType.ARRAY, GGUFValueType.FLOAT32)
    w.add_key_value("strap.test.arr_f64", [1e100], GGUFValueType.ARRAY, GGUFValueType.FLOAT64)
    w.add_key_value("strap.test.arr_bool", [True, False, True], GGUFValueType.ARRAY, GGUFValueType.BOOL)
    w.add_key_value("strap.test.arr_str", ["a", "", "xyz"], GGUFValueType.ARRAY, GGUFValueType.STRING)
    expected = {}
    rows, ne0 = 3, 512
    x = rng.standard_normal((rows, ne0)).astype(np.float32)
    x[0, :4] = [0.0, -0.0, 6.0e-8, -3.0e-5]  # f16 subnormals after conversion
    for qtype in [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q4_K, Q.Q5_K, Q.Q6_K]:
        if qtype in (Q.F32, Q.F16):
            data, raw = quant(x, qtype)
        elif qtype == Q.BF16:
            data, raw = quantize(x, Q.BF16), Q.BF16
        else:
            data, raw = random_blocks(rng, qtype, rows, ne0), qtype
        w.add_tensor(f"t.{qtype.name}", data, raw_dtype=raw)
        ref = dequant(data, raw, (rows, ne0))
        assert np.isfinite(ref).all()
        expected[f"t.{qtype.name}"] = ref
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    save_file(expected, os.path.join(OUT, "quants_expected.safetensors"))
    print("quants.gguf:", ", ".join(expected))


def main():
    import gguf
    os.makedirs(OUT, exist_ok=True)
    print("torch", torch.__version__, "gguf-py", getattr(gguf, "__version__", "?"))
    write_quants()
    tok = train_tokenizer()
    assert tok.get_vocab_size() == 321, tok.get_vocab_size()
    llama_types = {
        "token_embd.weight": Q.Q4_1, "output.weight": Q.Q8_0,
        "blk.0.attn_q.weight": Q.F16, "blk.0.attn_k.weight": Q.BF16, "blk.0.attn_v.weight": Q.Q8_0,
        "blk.0.attn_output.weight": Q.Q4_0, "blk.0.ffn_gate.weight": Q.Q4_1, "blk.0.ffn_up.weight": Q.Q8_0,
        "blk.0.ffn_down.weight": Q.Q4_0,
        "blk.1.attn_q.weight": Q.Q8_0, "blk.1.attn_k.weight": Q.Q4_0, "blk.1.attn_v.weight": Q.Q4_1,
        "blk.1.attn_output.weight": Q.F16, "blk.1.ffn_gate.weight": Q.F32, "blk.1.ffn_up.weight": Q.BF16,
        "blk.1.ffn_down.weight": Q.Q8_0,
    }
    write_model("tiny_llama", dict(vocab_size=V_MODEL, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                   rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False),
                llama_types, tok, "llama-bpe", LLAMA3_TEMPLATE, 11)
    tied_types = {"token_embd.weight": Q.Q8_0}
    for l, k in enumerate([Q.Q4_K, Q.Q5_K, Q.Q6_K]):
        tied_types.update({f"blk.{l}.attn_q.weight": Q.Q8_0, f"blk.{l}.attn_k.weight": Q.Q4_0,
                           f"blk.{l}.attn_v.weight": Q.Q4_1, f"blk.{l}.attn_output.weight": Q.F16,
                           f"blk.{l}.ffn_gate.weight": Q.Q8_0, f"blk.{l}.ffn_up.weight": Q.Q4_0,
                           f"blk.{l}.ffn_down.weight": k})
    write_model("tiny_tied", dict(vocab_size=V_MODEL, hidden_size=32, intermediate_size=256, num_hidden_layers=3,
                                  num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
                                  rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=True),
                tied_types, tok, "smollm", CHATML_TEMPLATE, 12, alignment=64)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{OUT}: {total} bytes")


if __name__ == "__main__":
    main()
