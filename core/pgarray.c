#include "core/pgarray.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(struct pgarray *a, const char *s, size_t n)
{
    if (a->n + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        while (cap < a->n + n + 1)
            cap *= 2;
        char *p = realloc(a->p, cap);
        if (!p)
            abort();
        a->p = p;
        a->cap = cap;
    }
    memcpy(a->p + a->n, s, n);
    a->n += n;
    a->p[a->n] = '\0';
}

static void sep(struct pgarray *a)
{
    if (a->count++)
        put(a, ",", 1);
}

void pgarray_init(struct pgarray *a)
{
    memset(a, 0, sizeof *a);
    put(a, "{", 1);
}

void pgarray_int(struct pgarray *a, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%" PRId64, v);
    sep(a);
    put(a, t, (size_t)n);
}

void pgarray_text(struct pgarray *a, const char *s)
{
    sep(a);
    if (!s) {
        put(a, "NULL", 4);
        return;
    }
    put(a, "\"", 1);
    for (const char *run = s;; s++) {
        if (*s == '"' || *s == '\\' || *s == '\0') {
            put(a, run, (size_t)(s - run));
            if (!*s)
                break;
            put(a, "\\", 1);
            run = s;
        }
    }
    put(a, "\"", 1);
}

const char *pgarray_end(struct pgarray *a)
{
    put(a, "}", 1);
    return a->p;
}

void pgarray_free(struct pgarray *a)
{
    free(a->p);
    memset(a, 0, sizeof *a);
}
