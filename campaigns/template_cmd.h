#ifndef LOA_TEMPLATE_CMD_H
#define LOA_TEMPLATE_CMD_H

struct cli;

/* `loa template create NAME --channel sms|zns --file FILE [--lang vi] [--unaccent]
 * [--zns-template-id ID]`: compiles the file (refused with the reason and byte offset when it
 * does not compile) and stores it as the LANG variant of NAME, creating NAME on first use;
 * creating NAME again with another --lang adds or replaces that variant. */
int cmd_template_create(struct cli *c, int argc, char **argv);

#endif
