// fuzz_shard.c: shard_open (header, checksum, frame index) and reading every frame of a
// .tok.zst token shard.
#include "../../data/shard.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(data, size, "shard.tok.zst");
    FUZZ_RUN({
        Shard *s = shard_open(path);
        if (s->frame_tokens > 0 && s->frame_tokens <= (1 << 20)) {
            int32_t *out = malloc((size_t)s->frame_tokens * sizeof(int32_t));
            for (uint64_t k = 0; k < s->n_frames && k < 64; k++) shard_read_frame(s, k, out);
            free(out);
        }
        shard_close(s);
    });
    return 0;
}
