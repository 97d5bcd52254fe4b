#ifndef LOA_CMD_SERVE_H
#define LOA_CMD_SERVE_H
#include "cli/cli.h"

/* `loa serve`: runs the daemon (engine/serve.h) until SIGTERM. Exits 0 after a clean stop, 1
 * when the configuration cannot be served, 2 on an argument. */
int cmd_serve(struct cli *c, int argc, char **argv);

#endif
