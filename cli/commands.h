// commands.h: the subcommands of the strap binary. Each gets argv with argv[0] = its own
// name ("train", "data", ...) and returns the process exit status.
#pragma once

int cmd_init(int argc, char **argv);   // cli/cmd_init.c
int cmd_train(int argc, char **argv);  // cli/cmd_train.c
int cmd_dpo(int argc, char **argv);    // cli/cmd_dpo.c
int cmd_sft(int argc, char **argv);    // cli/cmd_sft.c
int cmd_pairs(int argc, char **argv);  // cli/cmd_pairs.c
int cmd_verify(int argc, char **argv); // cli/cmd_verify.c
int cmd_synth(int argc, char **argv);  // cli/cmd_synth.c
int cmd_loop(int argc, char **argv);   // cli/cmd_loop.c
int cmd_judge(int argc, char **argv);  // cli/cmd_judge.c
int cmd_data(int argc, char **argv);   // cli/cmd_data.c: pack, inspect
int cmd_tok(int argc, char **argv);    // cli/cmd_tok.c: train, encode, decode
int cmd_gen(int argc, char **argv);    // cli/cmd_gen.c
int cmd_chat(int argc, char **argv);   // cli/cmd_gen.c
int cmd_eval(int argc, char **argv);   // cli/cmd_eval.c: ppl, logits, pairs, winrate, judge-accuracy
int cmd_bench(int argc, char **argv);  // cli/cmd_bench.c: step
