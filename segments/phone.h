#ifndef LOA_PHONE_H
#define LOA_PHONE_H

/* Vietnamese mobile numbers: 0 and nine digits, the first two of which name the carrier. Owned
 * by segments/: the importer, the reply hooks and the demo data all go through these two
 * functions, so there is one idea of a valid number. */

/* Normalises IN to E.164 without '+' ("84XXXXXXXXX") in OUT. Accepts 0XXXXXXXXX, 84…, +84…,
 * 0084…, a national number whose leading 0 a spreadsheet dropped (9 digits), and pre-2018
 * 11-digit numbers, which are converted by the official prefix table; spaces, dots, dashes and
 * parentheses are ignored. Returns 0, or -1 with *REASON set to a short static English reason
 * ("no phone", "landline", "foreign number", "two numbers in one cell", "too short", "too long",
 * "not a mobile prefix", "service number", "invalid characters"). REASON may be NULL. */
int phone_normalize(const char *in, char out[12], const char **reason);

/* The carrier of a normalised number from its prefix ("viettel", "vinaphone", "mobifone",
 * "vietnamobile", "gmobile", "itel", "reddi"), or NULL for a prefix no carrier holds. Numbers
 * are ported between carriers, so this is a routing hint, not a fact. */
const char *phone_carrier(const char *e164);

/* The carrier codes phone_carrier() can return, ending with NULL (for filter validation). */
extern const char *const phone_carriers[];

#endif
