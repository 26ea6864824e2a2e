// cmd_convert.c: strap convert --gguf FILE --out DIR [--bf16] [--force] (model/convert_gguf.h).
#include "cmd_convert.h"

#include "../model/convert_gguf.h"
#include "args.h"

int cmd_convert(int argc, char **argv) {
    ConvertOptions o = {0};
    Command cmd = {"strap convert --gguf FILE --out DIR [--bf16] [--force]",
                   "Convert a llama.cpp GGUF Llama model into a checkpoint directory that strap and Hugging Face "
                   "transformers load: config.json, model.safetensors (every tensor dequantised: F32, F16, BF16, "
                   "Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K), tokenizer.json, tokenizer_config.json (chat template) and "
                   "generation_config.json. q_proj/k_proj rows go back from llama.cpp's interleaved RoPE layout to "
                   "Hugging Face's rotate-half layout.",
                   CONVERT_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--gguf", o.gguf != NULL);
    args_require(&cmd, "--out", o.out != NULL);
    return convert_run(&o);
}
