#ifndef LOA_ANSWER_H
#define LOA_ANSWER_H
#include <stddef.h>

#include "campaigns/address.h"

/* The text of an answer to a citizen (outbound_answers.body, from answer_texts in
 * sql/014_answers.sql), rendered for the one it goes to. Pure; nothing allocates. */

/* The citizen an answer goes to, as the lease returns them: NULL or "" when unknown. */
struct answer_citizen {
    const char *full_name;
    const char *gender;         /* "male" / "female" */
    const char *birth_date;     /* YYYY-MM-DD */
};

/* Writes BODY into OUT (capacity CAP, NUL-terminated) with every "{{name}}" replaced by the
 * citizen's salutation and given name ("Bà Hoa", by R and the age on Y-M-D), or by "bạn" when the
 * sender is no known citizen or has no name. Everything else is copied as it is: an officer's
 * braces are text. Returns the length in bytes, or -1 when it does not fit. */
int answer_render(const char *body, const struct answer_citizen *c, const struct address_rules *r,
                  int y, int m, int d, char *out, size_t cap);

#endif
