/* `loa replies list` and `loa replies answer` (campaigns/replies.h). */
#include "cli/commands.h"
#include "campaigns/replies.h"
#include "core/config.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ERRLEN = 600 };

/* The options of `replies list` and `replies callbacks` into F (and *CSV when it is asked for
 * and allowed); a usage error's exit code, or -1 when they parsed. */
static int filter_parse(const struct cli_command *cmd, int argc, char **argv, struct replies_filter *f, bool *csv)
{
    static const struct option opts[] = {
        {"campaign", required_argument, NULL, 'c'}, {"unanswered", no_argument, NULL, 'u'},
        {"unmasked", no_argument, NULL, 'U'},       {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},           {"csv", no_argument, NULL, 'C'},
        {NULL, 0, NULL, 0}};
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': f->campaign = optarg; break;
        case 'u':
            if (csv)
                return cli_bad_option(cmd, ch, argv);
            f->unanswered = true;
            break;
        case 'U': f->unmasked = true; break;
        case 'l': {
            char *end;
            f->limit = strtol(optarg, &end, 10);
            if (*end || f->limit < 1 || f->limit > 100000)
                return cli_usage(cmd, "--limit takes 1 to 100000, not '%s'", optarg);
            break;
        }
        case 'j': break;
        case 'C':
            if (!csv)
                return cli_bad_option(cmd, ch, argv);
            *csv = true;
            break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument %s", argv[optind]);
    return -1;
}

int cmd_replies_list(struct cli *c, int argc, char **argv)
{
    struct replies_filter f = {.limit = 200};
    int rc = filter_parse(cli_find("replies list"), argc, argv, &f, NULL);
    if (rc >= 0)
        return rc;
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    cJSON *o = c->json ? cJSON_CreateObject() : NULL;
    return cli_json_done(o, replies_list(db, &f, config_str(c->cfg, "policy", "timezone"), stdout, o,
                                         err, sizeof err), err);
}

int cmd_replies_callbacks(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("replies callbacks");
    struct replies_filter f = {.limit = 100000};
    bool csv = false;
    int rc = filter_parse(cmd, argc, argv, &f, &csv);
    if (rc >= 0)
        return rc;
    if (csv && c->json)
        return cli_usage(cmd, "--csv and --json are two formats: choose one");
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    cJSON *o = c->json ? cJSON_CreateObject() : NULL;
    return cli_json_done(o, replies_callbacks(db, &f, config_str(c->cfg, "policy", "timezone"), csv, stdout, o,
                                              err, sizeof err), err);
}

int cmd_replies_answer(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("replies answer");
    static const struct option opts[] = {
        {"by", required_argument, NULL, 'b'}, {"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    const char *by = NULL;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'b': by = optarg; break;
        case 'j': break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage(cmd, "expected a reply ID and the TEXT of the answer");
    const char *id = argv[optind], *text = argv[optind + 1];
    if (!*id || strspn(id, "0123456789") != strlen(id) || strlen(id) > 18)
        return cli_usage(cmd, "'%s' is not a reply id", id);
    size_t tlen = strspn(text, " \t\r\n") == strlen(text) ? 0 : strlen(text);
    if (tlen == 0 || tlen > 1600)
        return cli_usage(cmd, "the answer must hold 1 to 1600 bytes of text");
    if (!by || !*by)
        by = getenv("USER");
    if (!by || !*by)
        return cli_usage(cmd, "say who answers with --by NAME");
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    struct reply_answer a;
    if (replies_answer(db, id, text, by, &a, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "reply_id", (double)strtoll(id, NULL, 10));
        cJSON_AddNumberToObject(o, "answer_id", (double)strtoll(a.answer_id, NULL, 10));
        cJSON_AddStringToObject(o, "channel", a.channel);
        cJSON_AddStringToObject(o, "state", a.state);
        cli_print_json(o);
    } else
        printf("answer %s to reply %s %s for %s to %s\n", a.answer_id, id,
               strcmp(a.state, "failed") == 0 ? "cannot be sent" : "queued", a.channel, a.to_masked);
    return CLI_OK;
}
