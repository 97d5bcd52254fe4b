#ifndef LOA_CLI_H
#define LOA_CLI_H
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>

struct config;

/* What every command gets. The database connection is opened on first use by cli_db(). */
struct cli {
    const char *config_path;   /* -c FILE, $LOA_CONFIG, ./loa.conf, or NULL for defaults */
    struct config *cfg;
    bool json;                 /* --json: print one JSON object on stdout instead of text */
    PGconn *db;
};

/* The exit status of every command, as `loa --help` states it: done, refused (the reason is on
 * stderr), bad usage (with the command's usage). */
enum { CLI_OK = 0, CLI_REFUSED = 1, CLI_USAGE = 2 };

/* A command: WORDS is its name as typed ("campaign create"). FN gets argv with argv[0] the last
 * word of the name, so getopt_long works as usual. It returns one of the exit codes above. */
typedef int (*cli_fn)(struct cli *c, int argc, char **argv);
struct cli_command {
    const char *words;
    cli_fn fn;
    const char *usage;   /* "NAME --filter FILE.json" */
    const char *help;    /* one sentence */
};

/* Opens (once) and returns the database connection of the configuration, or prints the reason
 * on stderr and returns NULL. */
PGconn *cli_db(struct cli *c);
/* Who runs the command: the login name ($USER, $LOGNAME, else the user id's), NULL when none
 * is known. The approver of `campaign approve` without --by, and the author of audit rows. */
const char *cli_login(void);
/* Who the audit log names for a change made at the shell: "shell:LOGIN". */
void cli_shell_actor(char *buf, size_t len);

/* Prints "loa: " + the message on stderr and returns CLI_REFUSED / CLI_USAGE. */
int cli_refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_usage(const struct cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Finds the command table row for WORDS (to print its usage). */
const struct cli_command *cli_find(const char *words);

/* Scans argv for --json and --help in any position (getopt_long with the command's own options
 * is still used for the rest). */
bool cli_has_flag(int argc, char **argv, const char *flag);

/* For a command that takes nothing but --json: CLI_OK, or the usage error for the first other
 * argument (CLI_USAGE). */
int cli_only_json(const struct cli_command *cmd, int argc, char **argv);

/* Prints O as one line of JSON on stdout (the output of --json) and deletes it. */
struct cJSON;
void cli_print_json(struct cJSON *o);

/* Finishes a command whose domain function wrote its text on stdout, or filled JSON (not NULL
 * with --json): RC < 0 refuses with ERR and deletes JSON, else prints JSON if any. Returns the
 * exit code. */
int cli_json_done(struct cJSON *json, int rc, const char *err);

/* The usage error for option CH that getopt_long() (option string ":") returned: ':' a value
 * missing, anything else an unknown option. Returns CLI_USAGE. */
int cli_bad_option(const struct cli_command *cmd, int ch, char **argv);

/* For a command that takes only --json and exactly N positional arguments, stored in ARGS (may
 * be NULL when N is 0): 0, or the usage error (WHAT says what is expected: "one TEXT"). */
int cli_positional(const struct cli_command *cmd, int argc, char **argv, const char **args, int n,
                   const char *what);

/* Prints the usage and help of a command on F. */
void cli_print_usage(FILE *f, const struct cli_command *cmd);

/* The main entry: parses global options and runs the command. */
int cli_main(int argc, char **argv);

#endif
