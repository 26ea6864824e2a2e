// cmd_convert.h: strap convert --gguf FILE --out DIR: a llama.cpp GGUF model -> a strap /
// Hugging Face checkpoint directory (model/convert_gguf.h).
#pragma once

int cmd_convert(int argc, char **argv); // argv[0] == "convert"
