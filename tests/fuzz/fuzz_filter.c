/* Fuzzes the segment filter compiler: any input either is refused with a JSON path, or
 * compiles to SQL whose placeholders are exactly the parameters it returns, numbered from the
 * base, and in which no input text appears outside the parameters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "segments/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = malloc(size + 1);
    if (!json)
        return 0;
    memcpy(json, data, size);
    json[size] = '\0';
    struct filter_sql fs;
    char err[256];
    int base = (int)(size % 3);
    if (filter_compile(json, base, &fs, err, sizeof err) < 0) {
        if (err[0] != '$')
            abort();
    } else {
        /* Every $N is in base+1 .. base+nparams, and each parameter is used. */
        int used = 0;
        for (const char *p = fs.where; (p = strchr(p, '$')) != NULL; p++) {
            int n = atoi(p + 1);
            if (n <= base || n > base + fs.nparams)
                abort();
            used++;
        }
        if (used < fs.nparams)
            abort();
        /* The SQL text has no quote but those of the compiler's own literals. */
        char *copy = strdup(fs.where);
        static const char *const literals[] = {"'Asia/Ho_Chi_Minh'", "'year'", "'{}'"};
        for (size_t i = 0; copy && i < sizeof literals / sizeof literals[0]; i++)
            for (char *q; (q = strstr(copy, literals[i])) != NULL;)
                memset(q, ' ', strlen(literals[i]));
        if (copy && strchr(copy, '\''))
            abort();
        free(copy);
        filter_sql_free(&fs);
    }
    free(json);
    return 0;
}
