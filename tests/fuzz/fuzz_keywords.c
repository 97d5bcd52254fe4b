/* Fuzzes reading a reply: any bytes are normalised (with and without the Telex / VNI reading)
 * into words that are valid UTF-8, and classified by a small table without a crash; the
 * escaped form stored in the database is valid UTF-8 and keeps every valid character. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "campaigns/keywords.h"
#include "campaigns/replies.h"

static struct kw_table *table;

static int valid_utf8(const char *s)
{
    utf8proc_int32_t cp;
    for (size_t n = strlen(s); n;) {
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &cp);
        if (k <= 0)
            return 0;
        s += k;
        n -= (size_t)k;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!table) {
        table = kw_table_new();
        kw_table_add(table, "TC", KW_OPT_OUT, KW_WHOLE, KW_ANY);
        kw_table_add(table, "hủy", KW_OPT_OUT, KW_WHOLE, KW_CAPS);
        kw_table_add(table, "không muốn nhận tin", KW_OPT_OUT, KW_PHRASE, KW_ANY);
        kw_table_add(table, "không", KW_QUESTION, KW_END, KW_ANY);
        kw_table_add(table, "hỏi", KW_QUESTION, KW_START, KW_ANY);
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct kw_text *t = malloc(sizeof *t);
    for (int decode = 0; t && decode < 2; decode++) {
        kw_text_parse(text, decode, t);
        for (unsigned i = 0; i < t->n; i++)
            if (!valid_utf8(t->canon[i]) || !valid_utf8(t->plain[i]) || !t->canon[i][0])
                abort();
    }
    free(t);
    if (kw_intent_name(kw_classify(table, text)) == NULL)
        abort();
    char *esc = reply_text_escape((const char *)data, size);
    if (esc && !valid_utf8(esc))
        abort();
    free(esc);
    free(text);
    return 0;
}
