#ifndef LOA_ADDRESS_H
#define LOA_ADDRESS_H
#include <stddef.h>

/* Vietnamese forms of address: the given name and the salutation of a citizen. Pure functions
 * over the citizen's fields; nothing here allocates, so templates call them per message. */

struct address_rules {
    int elder_age;          /* from this age: Ông / Bà; below it: Anh / Chị */
    char neutral[48];       /* when the gender is unknown, e.g. "Anh/Chị" */
};

/* The given name: the last word of FULL_NAME (Vietnamese names are family, middle, given), so
 * "Nguyễn Thị Hoa" → "Hoa" and a one-word name is itself. Sets *START into FULL_NAME and returns
 * the length in bytes; 0 for NULL or blank. */
size_t address_given_name(const char *full_name, const char **start);

/* Age in whole years on the day Y-M-D of an ISO `YYYY-MM-DD` BIRTH_DATE; -1 when it is unknown,
 * malformed or in the future. */
int address_age(const char *birth_date, int y, int m, int d);

/* "Ông", "Bà", "Anh" or "Chị" by GENDER ("male" / "female") and AGE; R->neutral for any other
 * gender. When the age is unknown the elder form is used: addressing a young citizen as Ông / Bà
 * is formal, addressing an old one as Anh / Chị is rude. */
const char *address_salutation(const struct address_rules *r, const char *gender, int age);

#endif
