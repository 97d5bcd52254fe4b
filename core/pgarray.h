#ifndef LOA_PGARRAY_H
#define LOA_PGARRAY_H
#include <stddef.h>
#include <stdint.h>

/* A PostgreSQL array literal ("{1,2}", "{\"a\",NULL}") built element by element, for passing
 * many values as one statement parameter ($1::bigint[], $2::text[]). Text elements are always
 * quoted with " and \ escaped, so no value can end the literal or change its shape; the literal
 * is a parameter, never SQL text. The buffer grows as needed (out of memory aborts: the callers
 * are batch writers that cannot do anything sensible without it). */

struct pgarray {
    char *p;            /* "{…" while building; pgarray_end() closes it */
    size_t n, cap;
    size_t count;       /* elements added */
};

void pgarray_init(struct pgarray *a);
void pgarray_int(struct pgarray *a, int64_t v);
/* S NULL adds a NULL element. */
void pgarray_text(struct pgarray *a, const char *s);
/* Closes the literal and returns it (owned by A until pgarray_free). */
const char *pgarray_end(struct pgarray *a);
void pgarray_free(struct pgarray *a);

#endif
