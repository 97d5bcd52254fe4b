#include "cli/cli.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "gateways/gateway.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <pwd.h>
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

const char *cli_login(void)
{
    const char *u = getenv("USER");
    if (!u || !*u)
        u = getenv("LOGNAME");
    if (!u || !*u) {
        struct passwd *pw = getpwuid(geteuid());
        u = pw ? pw->pw_name : NULL;
    }
    return u && *u ? u : NULL;
}

void cli_shell_actor(char *buf, size_t len)
{
    const char *u = cli_login();
    snprintf(buf, len, "shell:%s", u ? u : "?");
}

/* "loa: " + the message + a line break on stderr. */
__attribute__((format(printf, 1, 0))) static void vwarn(const char *fmt, va_list ap)
{
    fputs("loa: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_refuse(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn(fmt, ap);
    va_end(ap);
    return CLI_REFUSED;
}

void cli_print_json(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    puts(s);
    free(s);
    cJSON_Delete(o);
}

int cli_json_done(cJSON *json, int rc, const char *err)
{
    if (rc < 0) {
        cJSON_Delete(json);
        return cli_refuse("%s", err);
    }
    if (json)
        cli_print_json(json);
    return CLI_OK;
}

int cli_bad_option(const struct cli_command *cmd, int ch, char **argv)
{
    return ch == ':' ? cli_usage(cmd, "%s needs a value", argv[optind - 1])
                     : cli_usage(cmd, "unknown option %s", argv[optind - 1]);
}

int cli_positional(const struct cli_command *cmd, int argc, char **argv, const char **args, int n,
                   const char *what)
{
    int k = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            continue;
        if (strncmp(argv[i], "--", 2) == 0 && argv[i][2])
            return cli_usage(cmd, "unknown option %s", argv[i]);
        if (k == n)
            return cli_usage(cmd, "expected %s", what);
        args[k++] = argv[i];
    }
    return k == n ? 0 : cli_usage(cmd, "expected %s", what);
}

void cli_print_usage(FILE *f, const struct cli_command *cmd)
{
    fprintf(f, "usage: loa %s %s\n  %s\n", cmd->words, cmd->usage ? cmd->usage : "", cmd->help ? cmd->help : "");
}

int cli_usage(const struct cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn(fmt, ap);
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

int cli_only_json(const struct cli_command *cmd, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--json") != 0)
            return cli_usage(cmd, "unexpected argument %s", argv[i]);
    return CLI_OK;
}

/* `loa help --json`: the command table, for scripts and for the test that checks every command
 * that prints a result also prints it as JSON ("json": its usage offers --json). */
static void print_help_json(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "version", LOA_VERSION);
    cJSON *a = cJSON_AddArrayToObject(o, "commands");
    for (const struct cli_command *c = cli_commands; c->words; c++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "command", c->words);
        cJSON_AddStringToObject(x, "usage", c->usage ? c->usage : "");
        cJSON_AddStringToObject(x, "help", c->help ? c->help : "");
        cJSON_AddBoolToObject(x, "json", c->usage && strstr(c->usage, "--json") != NULL);
        cJSON_AddItemToArray(a, x);
    }
    cli_print_json(o);
}

static void print_help(FILE *f)
{
    fprintf(f, "loa %s — SMS and Zalo outreach campaigns for BHXH\n\n"
               "usage: loa [-c FILE] COMMAND [ARGS] [--json] [--help]\n\n"
               "  -c FILE    configuration (else $LOA_CONFIG, else ./loa.conf, else built-in defaults)\n"
               "  --version  print the version\n"
               "  help --json  the commands as JSON\n\ncommands:\n", LOA_VERSION);
    for (const struct cli_command *c = cli_commands; c->words; c++)
        fprintf(f, "  %-20s %s\n", c->words, c->help ? c->help : "");
    fprintf(f, "\n`loa COMMAND --help` describes one command. Exit status: 0 done, 1 refused, 2 bad usage.\n");
}

/* The length of the first word of a command's name ("campaign" of "campaign create"), or 0
 * when the name is one word: only names of two words or more form a group. */
static size_t group_len(const char *words)
{
    const char *sp = strchr(words, ' ');
    return sp ? (size_t)(sp - words) : 0;
}

static bool in_group(const struct cli_command *c, const char *group)
{
    size_t n = group_len(c->words);
    return n > 0 && n == strlen(group) && strncmp(c->words, group, n) == 0;
}

static bool is_group(const char *group)
{
    for (const struct cli_command *c = cli_commands; c->words; c++)
        if (in_group(c, group))
            return true;
    return false;
}

/* Lists the commands of GROUP ("campaign") with their usage on F. */
static void print_group(FILE *f, const char *group)
{
    fprintf(f, "usage: loa %s VERB [ARGS] [--json] [--help]\n\n", group);
    for (const struct cli_command *c = cli_commands; c->words; c++)
        if (in_group(c, group))
            fprintf(f, "  loa %s%s%s\n      %s\n", c->words, c->usage && *c->usage ? " " : "",
                    c->usage ? c->usage : "", c->help ? c->help : "");
    fprintf(f, "\n`loa %s VERB --help` describes one of them.\n", group);
}

/* `loa GROUP` without a verb: the group's commands on stderr (a usage error, as `loa` alone
 * is); `loa GROUP --help`: the same on stdout; `loa GROUP WORD`: WORD is not one of them. */
static int group_usage(int argc, char **argv)
{
    if (argc < 2) {
        print_group(stderr, argv[0]);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_group(stdout, argv[0]);
        return CLI_OK;
    }
    fprintf(stderr, "loa: unknown command '%s %s'\n\n", argv[0], argv[1]);
    print_group(stderr, argv[0]);
    return CLI_USAGE;
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
            if (cli_has_flag(argc, argv, "--json"))
                print_help_json();
            else
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
    if (!cmd && is_group(argv[i]))
        return group_usage(argc - i, argv + i);
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
