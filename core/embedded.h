#ifndef LOA_EMBEDDED_H
#define LOA_EMBEDDED_H
#include <stddef.h>

/* Files compiled into the binary by tools/embed.sh: sql/NNN_*.sql migrations and web/ assets.
 * The array ends with an entry whose path is NULL. The data are static and NUL-terminated. */
struct embedded_file {
    const char *path;
    const char *data;
    size_t len;
};
extern const struct embedded_file embedded_files[];

/* Returns the embedded file at PATH (as given to embed.sh, e.g. "web/index.html"), or NULL. */
const struct embedded_file *embedded_find(const char *path);

#endif
