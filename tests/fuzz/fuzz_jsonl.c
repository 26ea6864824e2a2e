// fuzz_jsonl.c: the record reader on the same bytes as .jsonl and as .jsonl.zst (a zstd
// stream of lines): every record, then every line.
#include <jansson.h>

#include "../../data/jsonl.h"
#include "fuzz.h"

static void read_all(const char *path) {
    JsonlReader *r = jsonl_open(path);
    json_t *obj;
    while (jsonl_next(r, &obj)) json_decref(obj);
    jsonl_close(r);
    r = jsonl_open(path);
    const char *line;
    size_t len;
    while (jsonl_next_line(r, &line, &len)) {
    }
    jsonl_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *plain = fuzz_write(data, size, "records.jsonl"), *zst = fuzz_write(data, size, "records.jsonl.zst");
    FUZZ_RUN(read_all(plain));
    FUZZ_RUN(read_all(zst));
    return 0;
}
