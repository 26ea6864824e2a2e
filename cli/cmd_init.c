// cmd_init.c: strap init: a new model with random weights (model/init_run.h).
#include "../model/init_run.h"
#include "../model/presets.h"
#include "args.h"
#include "commands.h"

int cmd_init(int argc, char **argv) {
    InitOptions o;
    init_options_default(&o);
    Command cmd = {"strap init --out DIR (--preset NAME | --vocab V --dim C --layers L --heads H "
                   "--ffn F --max-seq T) [options]",
                   "Create a Llama model with random weights: DIR/config.json and "
                   "DIR/model.safetensors (Hugging Face layout). Flags given with --preset "
                   "override the preset's values.",
                   INIT_FLAGS, .options = &o};
    args_parse(&cmd, argc, argv);
    args_require(&cmd, "--out", o.out != NULL);
    LlamaConfig preset = {0};
    if (o.preset && !preset_config(o.preset, &preset))
        args_error(&cmd, "--preset '%s' is unknown (choose one of: %s)", o.preset, preset_names());
    if (!o.preset) {
        args_require(&cmd, "--vocab", o.vocab > 0);
        args_require(&cmd, "--dim", o.dim > 0);
        args_require(&cmd, "--layers", o.layers > 0);
        args_require(&cmd, "--heads", o.heads > 0);
        args_require(&cmd, "--ffn", o.ffn > 0);
        args_require(&cmd, "--max-seq", o.max_seq > 0);
    }
    int dim = o.dim ? o.dim : preset.hidden_size, heads = o.heads ? o.heads : preset.n_heads;
    if (heads <= 0 || dim % heads != 0) args_error(&cmd, "--dim %d must be a multiple of --heads %d", dim, heads);
    return init_run(&o);
}
