// constraint_repair.h: verifier-guided repair of a model's answer. For the families whose
// instruction says exactly what to do with any text, a failed constraint is fixed by that
// edit, applied to the model's own words (nothing new is written):
//
//   lowercase / uppercase     case-map every letter
//   no_commas                 delete the commas
//   sentence_count, at most   keep the first n sentences
//   word_count, at most       keep the longest run of whole sentences within n words
//   start_with / end_with     put the phrase before / after the answer
//   repeat_request            put the request (base prompt) before the answer
//   title                     put <<first words of the answer>> before it
//   quotes                    wrap the answer in double quotes
//   json_format               {"response": answer}
//   two_responses             the answer, a ****** line, `other` (another answer to the
//                             same prompt; none given: no repair)
//
// Any other failed family (bullets, keywords, letters, language, ...) cannot be repaired:
// its answer must have been written right. The repaired answer is checked again with
// constraints_check and returned only when every constraint passes.
#pragma once
#include <jansson.h>

// Returns the repaired answer (malloc'd) when every constraint passes after the edits,
// NULL otherwise (a failed family without an edit, or edits that conflict). An answer that
// already passes everything is returned unchanged (copied). `edited` (may be NULL) gets
// the kinds edited appended as strings.
char *constraints_repair(const json_t *constraints, const char *prompt, const char *answer, const char *other,
                         json_t *edited);
