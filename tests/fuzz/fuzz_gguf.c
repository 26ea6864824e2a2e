// fuzz_gguf.c: gguf_open (header, key/values, tensor infos, alignment, bounds), typed
// look-ups and dequantising every tensor strap can dequantise.
#include "../../model/gguf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(data, size, "model.gguf");
    FUZZ_RUN({
        GgufFile g;
        gguf_open(&g, path);
        int64_t iv;
        double fv;
        int bv;
        gguf_get_int(&g, "llama.block_count", &iv);
        gguf_get_float(&g, "llama.rope.freq_base", &fv);
        gguf_get_bool(&g, "tokenizer.ggml.add_bos_token", &bv);
        for (uint64_t i = 0; i < g.n_kv; i++) {
            const GgufKV *kv = &g.kv[i];
            for (uint64_t k = 0; kv->type == GGUF_ARRAY && k < kv->n && k < 16; k++) {
                if (kv->elem == GGUF_FLOAT32 || kv->elem == GGUF_FLOAT64)
                    gguf_array_float(&g, kv, k);
                else if (kv->elem != GGUF_STRING && kv->elem != GGUF_ARRAY)
                    gguf_array_int(&g, kv, k);
            }
        }
        for (uint64_t i = 0; i < g.n_tensors; i++) {
            const GgufTensor *t = &g.tensors[i];
            if (!gguf_can_dequantize(t->type) || t->numel > (1 << 20)) continue;
            float *out = malloc((size_t)(t->numel ? t->numel : 1) * sizeof(float));
            gguf_dequantize(&g, t, out);
            free(out);
        }
        gguf_close(&g);
    });
    return 0;
}
