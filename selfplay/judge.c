// judge.c: see judge.h.
#include "judge.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/check.h"

const char *const JUDGE_DEFAULT_TEMPLATE =
    "Review the user's question and the corresponding response using the additive 5-point scoring system "
    "described below. Points are accumulated based on the satisfaction of each criterion:\n"
    "- Add 1 point if the response is relevant and provides some information related to the user's inquiry, "
    "even if it is incomplete or contains some irrelevant content.\n"
    "- Add another point if the response addresses a substantial portion of the user's question, but does not "
    "completely resolve the query or provide a direct answer.\n"
    "- Award a third point if the response answers the basic elements of the user's question in a useful way, "
    "regardless of whether it seems to have been written by an AI Assistant or if it has elements typically "
    "found in blogs or search results.\n"
    "- Grant a fourth point if the response is clearly written from an AI Assistant's perspective, addressing "
    "the user's question directly and comprehensively, and is well-organized and helpful, even if there is "
    "slight room for improvement in clarity, conciseness or focus.\n"
    "- Bestow a fifth point for a response that is impeccably tailored to the user's question by an AI "
    "Assistant, without extraneous information, reflecting expert knowledge, and demonstrating a high-quality, "
    "engaging, and insightful answer.\n\n"
    "User: {prompt}\n\n<response>{response}</response>\n\n"
    "After examining the user's instruction and the response:\n"
    "- Briefly justify your total score, up to 100 words.\n"
    "- Conclude with the score using the format: \"Score: <total points>\"\n"
    "Remember to assess from the AI Assistant perspective, utilizing web search knowledge as necessary. To "
    "evaluate the response in alignment with this additive scoring model, we'll systematically attribute points "
    "based on the outlined criteria.";

char *judge_build_prompt(const char *tpl, const char *prompt, const char *response) {
    if (!tpl) tpl = JUDGE_DEFAULT_TEMPLATE;
    if (!strstr(tpl, "{prompt}") || !strstr(tpl, "{response}"))
        fail("the judge template must contain {prompt} and {response}");
    size_t cap = strlen(tpl) + 1, n = 0;
    for (const char *p = strstr(tpl, "{prompt}"); p; p = strstr(p + 1, "{prompt}")) cap += strlen(prompt);
    for (const char *p = strstr(tpl, "{response}"); p; p = strstr(p + 1, "{response}")) cap += strlen(response);
    char *out = xmalloc(cap);
    for (const char *p = tpl; *p;) {
        const char *insert = NULL;
        size_t skip = 0;
        if (strncmp(p, "{prompt}", 8) == 0)
            insert = prompt, skip = 8;
        else if (strncmp(p, "{response}", 10) == 0)
            insert = response, skip = 10;
        if (insert) {
            size_t l = strlen(insert);
            memcpy(out + n, insert, l);
            n += l, p += skip;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = 0;
    return out;
}

int judge_parse_score(const char *text) {
    int score = -1;
    for (const char *p = text; *p; p++) {
        if (strncasecmp(p, "score", 5) != 0) continue;
        const char *q = p + 5;
        while (*q == '*' || *q == ' ' || *q == '\t') q++; // "**Score:**", "Score :"
        if (*q != ':' && *q != '-' && *q != '=') continue;
        q++;
        while (*q == '*' || *q == ' ' || *q == '\t') q++;
        if (!isdigit((unsigned char)*q)) continue;
        char *end;
        long v = strtol(q, &end, 10);
        if (*end == '.' && isdigit((unsigned char)end[1])) { // "4.5": not an integer number of points
            score = -1;
            continue;
        }
        score = v >= 0 && v <= 5 ? (int)v : -1;
    }
    return score;
}

int rubric_digit_ids(Tokenizer *t, int ids[6]) {
    int bad = -1;
    for (int k = 0; k < 6; k++) {
        char d[2] = {(char)('0' + k), 0};
        int32_t *enc = NULL;
        size_t n = 0, cap = 0;
        tokenizer_encode(t, d, 1, 0, &enc, &n, &cap);
        ids[k] = n == 1 ? enc[0] : -1;
        if (n != 1 && bad < 0) bad = k;
        free(enc);
    }
    return bad;
}

double rubric_score(const float *logits, const int ids[6], double probs[6]) {
    double mx = -INFINITY, z = 0, e = 0;
    for (int k = 0; k < 6; k++) mx = fmax(mx, logits[ids[k]]);
    for (int k = 0; k < 6; k++) z += exp(logits[ids[k]] - mx);
    for (int k = 0; k < 6; k++) {
        double p = exp(logits[ids[k]] - mx) / z;
        e += p * k;
        if (probs) probs[k] = p;
    }
    return e;
}
