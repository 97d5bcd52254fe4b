#ifndef LOA_TEMPLATE_STORE_H
#define LOA_TEMPLATE_STORE_H
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* Templates and their language variants as `loa template create` stores them: a template NAME
 * is created on first use; storing NAME again with another language adds or replaces that
 * variant. */

/* Reads template file PATH (at most 64 KB of text; an editor's BOM and final line break are
 * not part of the message), compiles it as an SMS template or, when ZNS, a ZNS parameter map,
 * counts its emoji into *EMOJI, and returns it composed (NFC), as it was compiled, for the
 * caller to free. NULL with ERR ("PATH: reason", with the byte offset when it does not
 * compile). */
char *template_file_load(const char *path, bool zns, int *emoji, char *err, size_t errlen);

struct template_variant {
    const char *name;
    const char *channel;     /* "sms" or "zns" */
    const char *lang;        /* a code of the languages table */
    const char *zns_id;      /* zns: the id Zalo approved, or NULL to keep the stored one */
    bool unaccent;
};

/* Stores BODY (from template_file_load()) as variant A in one transaction; the template-level
 * settings follow the vi variant. Sets *ID, *REPLACED (the variant existed) and *HAS_VI (the
 * template has a vi variant, which a campaign needs). 0, or -1 with ERR (an unknown language,
 * another channel than the template's, a zns template without its id, the database's error)
 * and nothing changed. */
int template_variant_store(PGconn *db, const struct template_variant *a, const char *body,
                           long long *id, bool *replaced, bool *has_vi, char *err, size_t errlen);

#endif
