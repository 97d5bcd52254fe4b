#ifndef LOA_COMMANDS_H
#define LOA_COMMANDS_H
#include "cli/cli.h"

/* The handlers of the command table (cli/commands.c), one file per group: cli/cmd_db.c,
 * cmd_communes.c, cmd_import.c, cmd_demo_data.c, cmd_segment.c, cmd_template.c,
 * cmd_campaign.c, cmd_replies.c, cmd_report.c, cmd_user.c, cmd_targets.c. Each parses its arguments, calls
 * the domain module that does the work, prints the result (text, or JSON with --json) and
 * returns an exit code of cli.h; the domain modules never see struct cli. */

int cmd_db_migrate(struct cli *c, int argc, char **argv);
int cmd_config_check(struct cli *c, int argc, char **argv);
int cmd_config_keys(struct cli *c, int argc, char **argv);

/* `loa communes import FILE.csv [--rejects OUT.csv] [--json]` */
int cmd_communes_import(struct cli *c, int argc, char **argv);
/* `loa import citizens FILE.csv [--rejects OUT.csv] [--dry-run] [--json]` */
int cmd_import_citizens(struct cli *c, int argc, char **argv);
/* `loa demo-data --citizens N [--seed S] [--today YYYY-MM-DD] --out FILE.csv`: the communes are
 * the database's synthetic ones; --today defaults to today in Asia/Ho_Chi_Minh. */
int cmd_demo_data(struct cli *c, int argc, char **argv);

/* `loa segment create NAME --filter FILE.json`: stores the filter (refused when it does not
 * compile); an existing NAME is updated. */
int cmd_segment_create(struct cli *c, int argc, char **argv);
/* `loa segment count NAME` / `loa segment count --filter FILE.json`: the count, the number
 * reachable by SMS and the time the count took. */
int cmd_segment_count(struct cli *c, int argc, char **argv);
/* `loa segment list`: every segment with its filter. */
int cmd_segment_list(struct cli *c, int argc, char **argv);

/* `loa template create NAME --channel sms|zns --file FILE [--lang vi] [--unaccent]
 * [--zns-template-id ID]`: compiles the file (refused with the reason and byte offset when it
 * does not compile) and stores it as the LANG variant of NAME, creating NAME on first use;
 * creating NAME again with another --lang adds or replaces that variant. */
int cmd_template_create(struct cli *c, int argc, char **argv);
/* `loa template preview NAME [--citizen ID] [--segment SEG] [--gateway GW] [--json]`. */
int cmd_template_preview(struct cli *c, int argc, char **argv);

/* The campaign lifecycle (campaigns/lifecycle.h) and its statistics (campaigns/stats.h). */
int cmd_campaign_create(struct cli *c, int argc, char **argv);
int cmd_campaign_approve(struct cli *c, int argc, char **argv);
int cmd_campaign_start(struct cli *c, int argc, char **argv);
int cmd_campaign_pause(struct cli *c, int argc, char **argv);
int cmd_campaign_resume(struct cli *c, int argc, char **argv);
int cmd_campaign_cancel(struct cli *c, int argc, char **argv);
int cmd_campaign_archive(struct cli *c, int argc, char **argv);
int cmd_campaign_resend(struct cli *c, int argc, char **argv);
int cmd_campaign_show(struct cli *c, int argc, char **argv);
int cmd_campaign_list(struct cli *c, int argc, char **argv);

/* The officers' queue of citizens' replies (campaigns/replies.h). */
int cmd_replies_list(struct cli *c, int argc, char **argv);
int cmd_replies_answer(struct cli *c, int argc, char **argv);
int cmd_replies_callbacks(struct cli *c, int argc, char **argv);

/* `loa report` (campaigns/report.h). */
int cmd_report(struct cli *c, int argc, char **argv);

/* `loa user add|list|disable` (campaigns/users.h). */
int cmd_user_add(struct cli *c, int argc, char **argv);
int cmd_user_list(struct cli *c, int argc, char **argv);
int cmd_user_disable(struct cli *c, int argc, char **argv);

/* `loa targets import` (campaigns/targets.h). */
int cmd_targets_import(struct cli *c, int argc, char **argv);

#endif
