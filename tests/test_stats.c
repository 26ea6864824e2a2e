// test_stats.c: the exact McNemar test against values computed with exact integer binomial
// sums (Python: min(1, 2 * sum(comb(n, i) for i in range(min(b, c) + 1)) / 2**n)), and the
// repetition measure behind "answers that loop".
#include <math.h>

#include "../data/text_loops.h"
#include "../eval/stats.h"
#include "test.h"

static void test_mcnemar_exact(void) {
    struct {
        int b, c;
        double p;
    } cases[] = {
        {10, 2, 0.03857421875},
        {2, 10, 0.03857421875},
        {7, 1, 0.0703125},
        {60, 40, 0.05688793364098079},
        {300, 250, 0.036578745549102704},
        {1, 0, 1.0},
        {25, 10, 0.01667384780012071},
        {0, 0, 1.0},
        {5, 5, 1.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double p = mcnemar_exact_p(cases[i].b, cases[i].c);
        EXPECT(fabs(p - cases[i].p) <= 1e-9 * cases[i].p, "b=%d c=%d: p %.12g, expected %.12g", cases[i].b, cases[i].c,
               p, cases[i].p);
    }
    // large counts stay finite and symmetric
    double big = mcnemar_exact_p(5200, 4800);
    EXPECT(big > 0 && big < 1e-4 && big == mcnemar_exact_p(4800, 5200), "b=5200 c=4800: p %g", big);
}

static void test_repetition(void) {
    EXPECT(text_repeated_ngram_share("one two three", 4) == 0, "fewer words than n");
    EXPECT(text_repeated_ngram_share("a b c d e f g h", 4) == 0, "no repeats");
    // "x y x y x y x y": 4-grams xyxy, yxyx, xyxy, yxyx, xyxy: 3 of 5 repeat
    double s = text_repeated_ngram_share("x y x y\nx y  x y", 4);
    EXPECT(fabs(s - 0.6) < 1e-12, "share %g, expected 0.6 (whitespace of any kind splits words)", s);
    const char *loop = "The sky is blue. The sky is blue. The sky is blue. The sky is blue. The sky is blue.";
    EXPECT(answer_loops(loop, "length"), "a cut-off answer that repeats one sentence loops");
    EXPECT(!answer_loops(loop, "eos"), "an answer that ended does not loop, however repetitive");
    EXPECT(!answer_loops("A long answer that simply ran out of tokens before it could end its last", "length"),
           "cut off without repetition is not a loop");
}

int main(void) {
    RUN(test_mcnemar_exact);
    RUN(test_repetition);
    return test_summary();
}
