#ifndef LOA_CONFIG_H
#define LOA_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

/* Configuration is a table: every key has a kind, a default, a range and a
 * description; the same table checks the file, produces the error messages and `loa config keys`.
 * A value is kept as text and read through the typed getters below, so a module adds a key by
 * adding one row to its table. Secrets may be given as `@/path/to/file`. */

enum cfg_kind {
    CFG_STR,      /* any text up to max characters (0: 4096) */
    CFG_SECRET,   /* like STR; never printed; `@FILE` reads the file */
    CFG_INT,      /* integer in [min, max] */
    CFG_DOUBLE,   /* number in [min, max] */
    CFG_BOOL,     /* true/false/yes/no/on/off/1/0 */
    CFG_URL,      /* http:// or https:// URL */
    CFG_LISTEN,   /* host:port */
    CFG_WINDOW,   /* HH:MM-HH:MM */
    CFG_CAP,      /* N/Dd, e.g. 2/7d */
    CFG_CONNINFO, /* a libpq connection string or URI */
    CFG_TZ,       /* a time zone core/tz.h knows ("Asia/Ho_Chi_Minh", "UTC") */
    CFG_NETS,     /* IPv4 addresses or a.b.c.d/n networks, separated by commas or spaces */
};

struct cfg_key {
    const char *section;  /* "database", "policy", …; "gateway" for every gateway section */
    const char *name;
    enum cfg_kind kind;
    const char *def;      /* NULL: required */
    double min, max;
    const char *desc;
};

struct config;

/* A kind of `[gateway.NAME]` section: its `type` value and its own keys beside the common
 * gateway keys (ended by a row with name NULL; NULL for none). The configuration knows nothing of
 * gateways: the program registers their types once, before config_load(), and an unregistered
 * `type` is refused. TYPES must live as long as the program. */
struct cfg_section_type {
    const char *name;
    const struct cfg_key *keys;
};
void config_register_types(const struct cfg_section_type *types, size_t n);

/* Loads PATH (NULL: built-in defaults, which use the embedded cluster in ./var). On error
 * returns -1 and writes "FILE:LINE: [section] key: reason" into ERR. */
int  config_load(const char *path, struct config **out, char *err, size_t errlen);
void config_free(struct config *cfg);
/* The path actually read, or "(defaults)". */
const char *config_path(const struct config *cfg);

/* Typed reads of a key of the table; SECTION is e.g. "policy" or "gateway.kannel". Reading a key
 * that is not in the table is a programming error and aborts. */
const char *config_str(const struct config *cfg, const char *section, const char *key);
long        config_int(const struct config *cfg, const char *section, const char *key);
double      config_double(const struct config *cfg, const char *section, const char *key);
bool        config_bool(const struct config *cfg, const char *section, const char *key);
/* True when the key was given in the file rather than defaulted. */
bool        config_given(const struct config *cfg, const char *section, const char *key);

/* Gateways in file order. NAME is the part after "gateway."; TYPE is the `type` key. */
size_t      config_gateway_count(const struct config *cfg);
const char *config_gateway_name(const struct config *cfg, size_t i);
const char *config_gateway_type(const struct config *cfg, size_t i);
const char *config_gateway_section(const struct config *cfg, size_t i); /* "gateway.NAME" */

/* Parsers shared with the CLI: 0 on success, -1 on a bad value. Minutes since midnight. */
int config_parse_window(const char *s, int *start_min, int *end_min);
int config_parse_cap(const char *s, int *count, int *days);

/* Prints every key with its default, range and description (for `loa config keys`). */
void config_print_keys(void);
/* Calls FN for every key, as config_print_keys() lists them: SECTION is "database", …,
 * "gateway.*" or "gateway.* type=kannel". */
void config_keys_each(void (*fn)(void *arg, const char *section, const struct cfg_key *k), void *arg);
/* "integer", "host:port", …: the kind as `loa config keys` names it. */
const char *config_kind_name(enum cfg_kind kind);

#endif
