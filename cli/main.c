// main.c: the strap binary: git-style subcommands.
#include <stdio.h>
#include <string.h>

#include "../dist/comm.h"
#include "../kernels/backend.h"
#include "cmd_convert.h"
#include "commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Subcommand;

static const Subcommand SUBCOMMANDS[] = {
    {"init", cmd_init, "create a new model with random weights (config.json + model.safetensors)"},
    {"tok", cmd_tok, "train a BPE tokenizer, encode and decode text"},
    {"data", cmd_data, "pack text into token shards, inspect shards"},
    {"train", cmd_train, "pretrain / fine-tune a model on token shards"},
    {"convert", cmd_convert, "import a GGUF model (llama) as a strap / Hugging Face checkpoint"},
    {"gen", cmd_gen, "generate text with a model (KV cache, sampling, chat templates)"},
    {"chat", cmd_chat, "chat with a model on the terminal"},
    {"synth", cmd_synth, "the model writes prompts for itself (roles x tasks x attributes, or brainstorm)"},
    {"judge", cmd_judge, "score answers with the model as judge (additive 5-point rubric)"},
    {"verify", cmd_verify, "check answers against verifiable constraints; make prompts with constraints"},
    {"pairs", cmd_pairs, "judged answers -> (chosen, rejected) preference pairs"},
    {"sft", cmd_sft, "supervised fine-tuning on chat records (assistant tokens only, packed rows)"},
    {"dpo", cmd_dpo, "preference training (DPO, IPO, robust DPO) on chosen/rejected pairs"},
    {"loop", cmd_loop, "self-rewarding iterations: synth, gen, judge, clean, pairs, dpo, eval (resumable)"},
    {"eval", cmd_eval, "evaluate: perplexity, preference accuracy, win rate, judge accuracy"},
    {"bench", cmd_bench, "benchmark a training step (tokens/s, FLOP/s)"},
};
#define N_SUBCOMMANDS (int)(sizeof SUBCOMMANDS / sizeof SUBCOMMANDS[0])

static void print_help(FILE *f) {
    fprintf(f, "strap: train Llama-style language models from scratch (C, CUDA)\n\n"
               "usage: strap <command> [options]     strap <command> --help for its options\n\n"
               "commands:\n");
    for (int i = 0; i < N_SUBCOMMANDS; i++) fprintf(f, "  %-8s %s\n", SUBCOMMANDS[i].name, SUBCOMMANDS[i].summary);
    fprintf(f, "  %-8s %s\n", "help", "show this help");
    fprintf(f, "\n  strap --version     version and compiled-in backends\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc > 2) { // strap help train == strap train --help
            char *help_argv[] = {argv[2], "--help", NULL};
            for (int i = 0; i < N_SUBCOMMANDS; i++)
                if (strcmp(argv[2], SUBCOMMANDS[i].name) == 0) return SUBCOMMANDS[i].run(2, help_argv);
        }
        print_help(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("strap %s (%s)\nbackends: %s\ndistributed: %s\n", STRAP_VERSION, STRAP_GIT_REV, backend_compiled_list(),
               comm_compiled_list());
        return 0;
    }
    for (int i = 0; i < N_SUBCOMMANDS; i++)
        if (strcmp(cmd, SUBCOMMANDS[i].name) == 0) {
            comm_init(&argc, &argv); // joins the MPI job under mpirun / srun (train, dpo)
            int status = SUBCOMMANDS[i].run(argc - 1, argv + 1);
            comm_finalize();
            return status;
        }
    fprintf(stderr, "strap: error: unknown command '%s'\n\n", cmd);
    print_help(stderr);
    return 2;
}
