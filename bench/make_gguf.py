#!/usr/bin/env python3
"""Writes an F32 or F16 GGUF of a strap / Hugging Face Llama checkpoint directory, for the
llama.cpp side of bench/gen_compare.sh. Benchmark-only: nothing in the build or the tests
uses it.

The metadata (architecture keys, tokenizer vocabulary, merges, special ids, chat template)
is copied from a reference GGUF of the same model (for SmolLM2-135M-Instruct the Q4_1 file
scripts/get-smollm2.sh downloads), so llama.cpp tokenizes exactly as that file does; the
tensors come from the checkpoint's model.safetensors. q_proj / k_proj rows go from Hugging
Face's rotate-half RoPE layout to GGUF's interleaved pairs (the inverse of what
model/convert_gguf.c does on import): row h*D + 2i + j of the GGUF tensor is row
h*D + j*D/2 + i of the HF one. 1-D tensors (norms) stay F32 in an F16 file, as llama.cpp's
converter writes them. The output is written to a temp name and renamed.

usage: python3 bench/make_gguf.py --model models/smollm2-135m-instruct \
           --meta models/.cache/SmolLM2-135M-Instruct.Q4_1.gguf --type f32 --out build/bench/smollm2-f32.gguf
"""
import argparse
import json
import os
import sys

import numpy as np


def fail(msg):
    print("make_gguf.py: error: " + msg, file=sys.stderr)
    sys.exit(1)


def permute_rope(w, n_head):
    """HF rotate-half rows -> GGUF interleaved rows (n_head heads of D rows each)."""
    rows, cols = w.shape
    if rows % (2 * n_head):
        fail("a q/k projection has %d rows, not a multiple of 2 x %d heads" % (rows, n_head))
    d = rows // n_head
    return w.reshape(n_head, 2, d // 2, cols).swapaxes(1, 2).reshape(rows, cols)


LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def gguf_name(hf):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".")
    if len(parts) >= 4 and parts[0] == "model" and parts[1] == "layers" and ".".join(parts[3:]) in LAYER_NAMES:
        return "blk.%s.%s" % (parts[2], LAYER_NAMES[".".join(parts[3:])])
    fail("tensor '%s' has no GGUF name (expected a Llama checkpoint)" % hf)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="checkpoint directory (config.json + model.safetensors)")
    ap.add_argument("--meta", required=True, help="a GGUF of the same model to copy metadata and tokenizer from")
    ap.add_argument("--type", choices=["f32", "f16"], default="f32")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    import gguf
    from safetensors.numpy import load_file

    cfg_path = os.path.join(args.model, "config.json")
    st_path = os.path.join(args.model, "model.safetensors")
    for p in (cfg_path, st_path, args.meta):
        if not os.path.isfile(p):
            fail("%s: not found (run `bash scripts/get-smollm2.sh` for SmolLM2-135M-Instruct)" % p)
    with open(cfg_path) as f:
        cfg = json.load(f)
    reader = gguf.GGUFReader(args.meta)
    arch = reader.fields["general.architecture"].contents()
    if arch != "llama":
        fail("%s: general.architecture is '%s', expected llama" % (args.meta, arch))
    n_layer = reader.fields["llama.block_count"].contents()
    if n_layer != cfg["num_hidden_layers"] or reader.fields["llama.embedding_length"].contents() != cfg["hidden_size"]:
        fail("%s does not describe the model in %s (layers or width differ)" % (args.meta, args.model))

    tmp = args.out + ".tmp"
    w = gguf.GGUFWriter(tmp, arch)
    skip = {"general.architecture", "general.name", "general.file_type", "general.quantization_version"}
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in skip:
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, field.contents(), vtype, sub_type=sub)
    ftype = gguf.LlamaFileType.ALL_F32 if args.type == "f32" else gguf.LlamaFileType.MOSTLY_F16
    w.add_file_type(int(ftype))
    w.add_name("%s (%s, written by strap bench/make_gguf.py)" % (os.path.basename(os.path.normpath(args.model)), args.type.upper()))

    tensors = load_file(st_path)
    n_head, n_kv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    for hf in sorted(tensors, key=lambda n: (n.count("layers"), n)):
        t = tensors[hf].astype(np.float32)
        name = gguf_name(hf)
        if hf.endswith("q_proj.weight"):
            t = permute_rope(t, n_head)
        elif hf.endswith("k_proj.weight"):
            t = permute_rope(t, n_kv)
        if args.type == "f16" and t.ndim > 1:
            t = t.astype(np.float16)
        w.add_tensor(name, np.ascontiguousarray(t))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, args.out)
    print("wrote %s (%s, %d tensors)" % (args.out, args.type.upper(), len(tensors)))


if __name__ == "__main__":
    main()
