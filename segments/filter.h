#ifndef LOA_FILTER_H
#define LOA_FILTER_H
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* The segment filter language (README.md, "Citizens, communes and segments"), compiled to a
 * parameterised SQL expression.
 *
 *   node      := {"all":[node…]} | {"any":[node…]} | {"not":node} | condition
 *   condition := {"field":F, OP:VALUE}      exactly one OP
 *
 * Fields and the operators each accepts:
 *   group province_code commune_code language   eq ne in not_in exists       (codes)
 *   gender (male|female) participation (none|voluntary|compulsory|stopped)
 *   carrier (phone_carriers[])                   eq ne in not_in exists
 *   age (integer 0..150, Asia/Ho_Chi_Minh)       eq ne in not_in lt lte gt gte between exists
 *   voluntary_due_date (YYYY-MM-DD)              eq ne lt lte gt gte between within_days exists
 *   has_zalo (boolean)                           eq ne
 *   tags (text)                                  eq (has it) ne in (has any) not_in exists
 * `exists` takes true or false. `ne` and `not_in` also hold when the value is unknown (NULL),
 * and {"not":…} is the complement of its node over all citizens, unknown values included.
 * {"all":[]} is every citizen, {"any":[]} nobody. `in` lists hold 1..1000 values, `between`
 * takes [lo, hi] with lo <= hi, `within_days` N (0..3660) means from today to today + N.
 * Limits: JSON of at most 64 KB, nesting of at most 32 nodes. */

struct filter_sql {
    char *where;     /* a boolean expression over citizens aliased `c`; owned, malloc'd */
    char **params;   /* nparams text values for $<base+1>…; owned, malloc'd */
    int nparams;
};

/* Compiles the JSON filter into a boolean SQL expression over the citizens table aliased `c`,
 * using placeholders $<param_base+1>…; values go only into params. On error returns -1 and
 * writes "$.all[2].field: unknown field 'x'"-style JSON path + reason into err; OUT is then
 * empty (nothing to free, though filter_sql_free() is harmless). */
int filter_compile(const char *json, int param_base, struct filter_sql *out, char *err,
                   size_t errlen);
void filter_sql_free(struct filter_sql *f);
/* "SELECT count(*) …" of the citizens F selects (its parameters are F's), malloc'd, or NULL
 * when out of memory. A filter of every citizen reads the counts on file (citizen_counts, kept
 * by a trigger) instead of counting a million rows. */
char *filter_count_sql(const struct filter_sql *f);

/* Loads segment NAME's filter from the database and compiles it. */
int segment_load(PGconn *db, const char *name, int param_base, struct filter_sql *out,
                 int64_t *segment_id, char *err, size_t errlen);

/* SQL expression (over alias c) true when the citizen may be sent to on the channel given as
 * parameter $1 (text: 'sms' or 'zalo'; anything else gives false): not opted out of that
 * channel or of 'all'; for sms the phone is known and not marked invalid; for zalo either the
 * phone is known and Zalo has not said it has no account (has_zalo is not false), or a Zalo user
 * id is known. Compile the segment filter with param_base 1 to use both in one statement. */
const char *segment_sendable_sql(void);

/* The same rule for a statement over many citizens: segment_opt_outs_join_sql() is the LEFT
 * JOINs to put after `citizens c` (they name the aliases oa and os), and
 * segment_sendable_joined_sql() the expression that then says whether the citizen may be sent
 * to; segment_opted_out_joined_sql() says the citizen opted out of $1 or of 'all'. As joins the
 * planner may read the opt-outs once per statement instead of once per citizen: as a correlated
 * subquery over a table of a few pages, each citizen paid for a new scan of it (about 6 µs
 * here; the 1,000,000 of a national segment, 6 s). */
const char *segment_opt_outs_join_sql(void);
/* The same joins for a statement that reads only the citizens whose id is above BOUND (an SQL
 * expression), so that a merge join starts at BOUND. Malloc'd; NULL when out of memory. */
char *segment_opt_outs_join_after_sql(const char *bound);
const char *segment_opted_out_joined_sql(void);
const char *segment_sendable_joined_sql(void);

/* The ORDER BY list (over alias c) that chooses which member of a household gets the message
 * when several citizens of a segment share one phone number (a campaign with per_phone 'one'):
 * adults (18 or over, by birth date in Vietnam) first, oldest first; then citizens whose birth
 * date is unknown; then minors, oldest first; ties by the lowest citizen id. */
const char *segment_household_order_sql(void);

#endif
