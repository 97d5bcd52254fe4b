#include "cli/cmd_serve.h"
#include "engine/serve.h"

int cmd_serve(struct cli *c, int argc, char **argv)
{
    if (argc > 1)
        return cli_usage(cli_find("serve"), "unexpected argument %s", argv[1]);
    char err[700];
    if (serve_run(c->cfg, err, sizeof err) < 0)
        return cli_refuse("cannot serve: %s", err);
    return CLI_OK;
}
