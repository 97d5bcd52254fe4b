#include "cli/commands.h"
#include "cli/cmd_serve.h"
#include "cli/cmd_faq.h"
#include "cli/cmd_gateway.h"
#include "cli/cmd_hints.h"
#include "cli/cmd_keywords.h"

#include <stddef.h>

/* The command table: one row per command; `loa --help` lists them in this order. */
const struct cli_command cli_commands[] = {
    {"db migrate", cmd_db_migrate, "[--json]", "apply the sql/ migrations not yet applied (idempotent)"},
    {"config check", cmd_config_check, "[--json]", "read the configuration and report every error"},
    {"config keys", cmd_config_keys, "[--json]", "list every configuration key with its default and range"},
    {"communes import", cmd_communes_import, "FILE.csv [--rejects OUT.csv] [--json]", "load administrative units (commune_code,commune_name,province_code,province_name); upsert, idempotent"},
    {"import citizens", cmd_import_citizens, "FILE.csv [--rejects OUT.csv] [--dry-run] [--json]", "upsert citizens from a CSV file; rejected rows are reported with their line and reason"},
    {"demo-data", cmd_demo_data, "--citizens N [--seed S] [--today YYYY-MM-DD] --out FILE.csv [--json]", "write N synthetic citizens of the synthetic communes as a citizen CSV (deterministic for a seed)"},
    {"segment create", cmd_segment_create, "NAME --filter FILE.json [--json]", "define a segment (or update it) from a JSON filter"},
    {"segment count", cmd_segment_count, "NAME | --filter FILE.json [--json]", "count who is in a segment now, and how many are reachable by SMS"},
    {"segment list", cmd_segment_list, "[--json]", "list the segments with their filters"},
    {"template create", cmd_template_create, "NAME --channel sms|zns --file FILE [--lang vi] [--unaccent] [--zns-template-id ID] [--json]", "add or replace a language variant of a template (vi is required before a campaign can use it)"},
    {"template preview", cmd_template_preview, "NAME [--citizen ID] [--segment SEG] [--gateway GW] [--per-phone one|all] [--json]", "render a sample, and the longest rendering, parts and cost over a segment (one message per phone unless --per-phone all)"},
    {"campaign create", cmd_campaign_create, "NAME --segment SEG --channels zalo:TPL,sms[@GATEWAY]:TPL [--start ISO8601] [--end ISO8601] [--window HH:MM-HH:MM] [--topic general|voluntary] [--per-phone one|all] [--daily-cap N] [--json]", "create a draft campaign; channels are tried in order, each later one a fallback; each phone number is reached once unless --per-phone all; at most N messages a local day with --daily-cap; prints its id"},
    {"campaign approve", cmd_campaign_approve, "CAMPAIGN [--by SUPERVISOR] [--json]", "approve a draft campaign that targets more than [policy] approval_threshold citizens"},
    {"campaign start", cmd_campaign_start, "CAMPAIGN [--per-phone one|all] [--json]", "schedule a draft campaign: the daemon sends it from its start time"},
    {"campaign pause", cmd_campaign_pause, "CAMPAIGN [--json]", "pause a scheduled or running campaign"},
    {"campaign resume", cmd_campaign_resume, "CAMPAIGN [--json]", "resume a paused campaign where it was"},
    {"campaign cancel", cmd_campaign_cancel, "CAMPAIGN [--json]", "cancel a campaign and every message not yet handed to a gateway"},
    {"campaign resend", cmd_campaign_resend, "CAMPAIGN --in-doubt [--older-than MINUTES] [--yes] [--json]", "resend the in-doubt messages that provably never reached their gateway: no report came for them while later ones were reported (Kannel with dlr_mask including 8); shows them unless --yes; a completed campaign runs again"},
    {"campaign archive", cmd_campaign_archive, "CAMPAIGN [--json]", "move a completed or cancelled campaign's messages to the schema archive; its statistics stay"},
    {"campaign show", cmd_campaign_show, "CAMPAIGN [--by commune|group|channel] [--json]", "statistics of a campaign, or citizens targeted and reached per commune, group or channel"},
    {"campaign list", cmd_campaign_list, "[--json]", "every campaign with its main figures, one line each"},
    {"replies list", cmd_replies_list, "[--campaign C] [--unanswered] [--limit N] [--json [--unmasked]]", "the officers' queue of citizens' replies, newest first (numbers masked)"},
    {"replies answer", cmd_replies_answer, "ID TEXT [--by NAME] [--json]", "answer a citizen's reply; the daemon sends it by Zalo within 7 days of their last Zalo message, else by SMS"},
    {"replies callbacks", cmd_replies_callbacks, "[--campaign C] [--limit N] [--csv | --json [--unmasked]]", "the call-back list: citizens whose reply asked for an officer's call; --csv with full numbers, for officers"},
    {"keywords list", cmd_keywords_list, "[--intent I] [--json]", "the reply keyword table: text, intent, match (whole|phrase|start|end) and accents (exact|any|caps)"},
    {"keywords add", cmd_keywords_add, "TEXT --intent opt_out|opt_in|register|question|feedback [--match whole|phrase|start|end] [--accents exact|any|caps] [--note N] [--json]", "add a keyword (or change the intent of one); a running daemon reads replies with it at once"},
    {"keywords remove", cmd_keywords_remove, "TEXT|ID [--match M] [--json]", "remove a keyword"},
    {"keywords test", cmd_keywords_test, "TEXT [--json]", "the intent the keyword table gives a reply, and the reply as normalised"},
    {"hints list", cmd_hints_list, "[--json]", "the opt-out hint {{opt_out_hint}} renders in each language, and which are provisional stand-ins"},
    {"hints set", cmd_hints_set, "LANGUAGE TEXT [--provisional] [--note N] [--json]", "set a language's opt-out hint (it may name {{opt_out_keyword}} and {{opt_out_number}}); campaigns loaded afterwards use it"},
    {"faq list", cmd_faq_list, "[--json]", "the bank of standard questions and answers"},
    {"faq add", cmd_faq_add, "QUESTION ANSWER [--json]", "add a question with its answer (a question already there gets the new answer)"},
    {"faq import", cmd_faq_import, "FILE.csv [--json]", "add or update questions from a CSV with the columns question,answer (or cau_hoi,tra_loi)"},
    {"faq remove", cmd_faq_remove, "ID|QUESTION [--json]", "remove a question from the bank"},
    {"faq match", cmd_faq_match, "TEXT [--json]", "the question of the bank that best matches a reply, with its score (confident from 0.5)"},
    {"report", cmd_report, "--from DATE --to DATE (or --year YYYY) --format xlsx|csv --out FILE [--target PCT] [--csv-header titles|codes] [--json]", "the supervisors' report per campaign, commune, group and channel, with reach per commune, coverage against the targets and conversions"},
    {"user add", cmd_user_add, "NAME --role officer|supervisor|admin [--password-file F] [--json]", "add a user of the API and the dashboard (password from the first line of F, or asked on the terminal) and print their API token once"},
    {"user list", cmd_user_list, "[--json]", "the users of the API and the dashboard, with their roles"},
    {"user disable", cmd_user_disable, "NAME [--json]", "refuse a user from now on (their sessions end at once)"},
    {"targets import", cmd_targets_import, "FILE.csv [--json]", "coverage targets of the plans: year,commune_code,population,target_pct[,topic][,activity_target_pct] (topic general or voluntary; activity_target_pct: the province's target share of active communes that year); upsert"},
    {"gateway status", cmd_gateway_status, "[--json]", "each gateway: its circuit (closed, open or half_open, why and since when), pause, rate, messages in flight and waiting, today's use of its quota"},
    {"serve", cmd_serve, "", "the daemon: sends running campaigns, serves webhooks, /healthz and /metrics until SIGTERM"},
    {NULL, NULL, NULL, NULL},
};
