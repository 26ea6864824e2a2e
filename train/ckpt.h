// ckpt.h: what the resumable training commands (strap train, strap dpo) share around their
// checkpoint directory: the stop signals, metrics.jsonl on resume, the files a checkpoint
// copies from the model it started from.
#pragma once

// The first SIGINT/SIGTERM only records the signal (the loop saves a checkpoint and exits
// with 128+signal); a second one ends the process at once.
void stop_signals_install(void);
// The signal received so far (0: none).
int stop_signal_received(void);

// Keeps only the lines of PATH (JSON lines with a "step") with step <= last_step; a resumed
// run re-does the later steps. Atomic; no-op when PATH does not exist.
void metrics_truncate(const char *path, int last_step);

// Copies tokenizer.json, tokenizer_config.json and generation_config.json (those present)
// from `from_dir` to `to_dir`, atomically.
void copy_model_files(const char *from_dir, const char *to_dir);
