// test_judge.c: the judge prompt and the score parser on a table of messy judge outputs.
#include <string.h>

#include "../selfplay/judge.h"
#include "test.h"

static void test_parse_table(void) {
    struct {
        const char *text;
        int want;
    } cases[] = {
        {"The response is relevant.\nScore: 4", 4},
        {"Score: 5", 5},
        {"score: 3", 3},
        {"SCORE:2", 2},
        {"**Score:** 3", 3},
        {"Score - 1", 1},
        {"Score: 4/5", 4},
        {"Score: 4 points.", 4},
        {"I'd give Score: 2 at first, but on reflection Score: 3", 3}, // the last one counts
        {"Score: 0", 0},
        {"Score: 7", -1},           // out of range: missing, not clipped
        {"Score: 4.5", -1},         // not a whole number of points
        {"The score is high.", -1}, // no verdict
        {"Score: <total points>", -1},
        {"", -1},
        {"Score: five", -1},
        {"Final Score: 4\nScore: ", 4}, // a trailing empty verdict does not erase the last valid one
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = judge_parse_score(cases[i].text);
        EXPECT(got == cases[i].want, "'%s': got %d, want %d", cases[i].text, got, cases[i].want);
    }
}

static void test_build_prompt(void) {
    char *p = judge_build_prompt(NULL, "What is 2+2?", "4");
    EXPECT(strstr(p, "User: What is 2+2?") != NULL, "prompt not inserted");
    EXPECT(strstr(p, "<response>4</response>") != NULL, "response not inserted");
    EXPECT(strstr(p, "Score: <total points>") != NULL, "the verdict format is missing");
    EXPECT(strstr(p, "{prompt}") == NULL && strstr(p, "{response}") == NULL, "placeholders left");
    free(p);
    p = judge_build_prompt("Q={prompt} A={response} again {prompt}", "x", "y");
    EXPECT(strcmp(p, "Q=x A=y again x") == 0, "custom template: %s", p);
    free(p);
}

static void no_placeholder(const char *tpl) { free(judge_build_prompt(tpl, "a", "b")); }

static void test_bad_template(void) {
    expect_failure_exit(no_placeholder, "rate this", "{prompt} and {response}", NULL, "template without placeholders");
}

int main(void) {
    RUN(test_parse_table);
    RUN(test_build_prompt);
    RUN(test_bad_template);
    return test_summary();
}
