// fuzz_jsonl.c: the record reader on the same bytes as .jsonl and as .jsonl.zst (a zstd
// stream of lines): every record, then every line. The reader a rejected input leaves open
// (its 1 MiB line buffer) is closed here, or the run would run out of memory.
#include <jansson.h>

#include "../../data/jsonl.h"
#include "fuzz.h"

static JsonlReader *reader; // open while read_all runs

static void read_all(const char *path) {
    reader = jsonl_open(path);
    json_t *obj;
    while (jsonl_next(reader, &obj)) json_decref(obj);
    jsonl_close(reader);
    reader = NULL;
    reader = jsonl_open(path);
    const char *line;
    size_t len;
    while (jsonl_next_line(reader, &line, &len)) {}
    jsonl_close(reader);
    reader = NULL;
}

static void close_left_open(void) {
    if (reader) jsonl_close(reader);
    reader = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *plain = fuzz_write(data, size, "records.jsonl"), *zst = fuzz_write(data, size, "records.jsonl.zst");
    FUZZ_RUN(read_all(plain));
    close_left_open();
    FUZZ_RUN(read_all(zst));
    close_left_open();
    return 0;
}
