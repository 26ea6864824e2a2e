// fuzz_safetensors.c: st_open (header JSON, dtypes, shapes, offsets) and reading every tensor.
#include "../../model/safetensors.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(data, size, "model.safetensors");
    FUZZ_RUN({
        SafeTensors st;
        st_open(&st, path);
        for (int i = 0; i < st.n_tensors; i++) {
            const StTensor *t = &st.tensors[i];
            if (t->numel > (1 << 20)) continue;
            if (t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16) {
                float *out = malloc((size_t)(t->numel ? t->numel : 1) * sizeof(float));
                st_read_f32(&st, t, out);
                free(out);
            }
        }
        free(st_metadata(&st, "trainer_state"));
        st_close(&st);
    });
    return 0;
}
