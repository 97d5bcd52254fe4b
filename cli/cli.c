#include "cli/cli.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "gateways/gateway.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const struct cli_command cli_commands[];

#define LOA_VERSION "0.1.0"

PGconn *cli_db(struct cli *c)
{
    if (c->db)
        return c->db;
    char err[512];
    c->db = db_connect(config_str(c->cfg, "database", "url"), err, sizeof err);
    if (!c->db)
        fprintf(stderr, "loa: cannot connect to the database: %s\n"
                        "loa: (is it running? `make demo` starts the embedded cluster in ./var/pg)\n", err);
    return c->db;
}

int cli_refuse(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loa: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_REFUSED;
}

void cli_print_usage(FILE *f, const struct cli_command *cmd)
{
    fprintf(f, "usage: loa %s %s\n  %s\n", cmd->words, cmd->usage ? cmd->usage : "", cmd->help ? cmd->help : "");
}

int cli_usage(const struct cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loa: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (cmd)
        cli_print_usage(stderr, cmd);
    return CLI_USAGE;
}

const struct cli_command *cli_find(const char *words)
{
    for (const struct cli_command *c = cli_commands; c->words; c++)
        if (strcmp(c->words, words) == 0)
            return c;
    return NULL;
}

bool cli_has_flag(int argc, char **argv, const char *flag)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], flag) == 0)
            return true;
    }
    return false;
}

static void print_help(FILE *f)
{
    fprintf(f, "loa %s — SMS and Zalo outreach campaigns for BHXH\n\n"
               "usage: loa [-c FILE] COMMAND [ARGS] [--json] [--help]\n\n"
               "  -c FILE    configuration (else $LOA_CONFIG, else ./loa.conf, else built-in defaults)\n"
               "  --version  print the version\n\ncommands:\n", LOA_VERSION);
    for (const struct cli_command *c = cli_commands; c->words; c++)
        fprintf(f, "  %-20s %s\n", c->words, c->help ? c->help : "");
    fprintf(f, "\n`loa COMMAND --help` describes one command. Exit status: 0 done, 1 refused, 2 bad usage.\n");
}

/* Finds the longest command whose words match the start of ARGV. */
static const struct cli_command *match(int argc, char **argv, int *nwords)
{
    const struct cli_command *best = NULL;
    int bestn = 0;
    for (const struct cli_command *c = cli_commands; c->words; c++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", c->words);
        int n = 0;
        bool ok = true;
        for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save), n++)
            if (n >= argc || strcmp(argv[n], w) != 0) {
                ok = false;
                break;
            }
        if (ok && n > bestn) {
            best = c;
            bestn = n;
        }
    }
    *nwords = bestn;
    return best;
}

static const char *config_file(const char *given)
{
    if (given)
        return given;
    const char *env = getenv("LOA_CONFIG");
    if (env && *env)
        return env;
    if (access("loa.conf", F_OK) == 0)
        return "loa.conf";
    return NULL;
}

int cli_main(int argc, char **argv)
{
    struct cli c = {0};
    const char *cfgpath = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc)
                return cli_usage(NULL, "%s needs a file", argv[i]);
            cfgpath = argv[++i];
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("loa %s\n", LOA_VERSION);
            return CLI_OK;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "help") == 0) {
            print_help(stdout);
            return CLI_OK;
        } else if (argv[i][0] == '-') {
            return cli_usage(NULL, "unknown option %s (see loa --help)", argv[i]);
        } else
            break;
    }
    if (i >= argc) {
        print_help(stderr);
        return CLI_USAGE;
    }
    int nwords;
    const struct cli_command *cmd = match(argc - i, argv + i, &nwords);
    if (!cmd) {
        fprintf(stderr, "loa: unknown command '%s'\n\n", argv[i]);
        print_help(stderr);
        return CLI_USAGE;
    }
    int cargc = argc - i - nwords + 1;
    char **cargv = argv + i + nwords - 1;
    if (cli_has_flag(cargc, cargv, "--help") || cli_has_flag(cargc, cargv, "-h")) {
        cli_print_usage(stdout, cmd);
        return CLI_OK;
    }
    c.config_path = config_file(cfgpath);
    char err[600];
    gateway_types_register();
    if (config_load(c.config_path, &c.cfg, err, sizeof err) < 0) {
        fprintf(stderr, "loa: configuration: %s\n", err);
        return CLI_REFUSED;
    }
    enum log_level lvl;
    if (log_level_parse(config_str(c.cfg, "engine", "log_level"), &lvl) < 0) {
        fprintf(stderr, "loa: configuration: %s: [engine] log_level: '%s' is not debug, info, warn or error\n",
                config_path(c.cfg), config_str(c.cfg, "engine", "log_level"));
        config_free(c.cfg);
        return CLI_REFUSED;
    }
    log_set_level(lvl);
    c.json = cli_has_flag(cargc, cargv, "--json");
    optind = 1;
    int rc = cmd->fn(&c, cargc, cargv);
    if (c.db)
        PQfinish(c.db);
    config_free(c.cfg);
    return rc;
}
