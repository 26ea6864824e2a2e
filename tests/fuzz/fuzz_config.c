// fuzz_config.c: config_read of a model directory's config.json (types, ranges, rope
// scaling, tied embeddings) and its validation.
#include "../../model/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(data, size, "config.json");
    FUZZ_RUN({
        LlamaConfig c;
        config_read(&c, path);
        config_validate(&c, path);
    });
    return 0;
}
