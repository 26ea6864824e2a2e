// fuzz_chat_template.c: what strap reads of a model's chat template: the format detected
// from tokenizer_config.json ("chat_template") and the template's default system message.
#include "../../model/chat.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_write(data, size, "tokenizer_config.json");
    FUZZ_RUN({
        chat_format_detect(fuzz_dir());
        free(chat_default_system(fuzz_dir()));
    });
    return 0;
}
