// eval_report.h: an evaluation's result as one line on standard output and, each written
// atomically, as JSON and as a Markdown table.
#pragma once
#include <jansson.h>

// Prints res (one JSON line when json, else "key value | ..."); writes it as JSON to `out`
// and as a two-column Markdown table titled `title` to `markdown` (each optional).
void eval_report(json_t *res, const char *title, int json, const char *out, const char *markdown);
