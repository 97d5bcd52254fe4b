#include "engine/cli.h"
#include "engine/cmd_db.h"
#include "segments/csvimport.h"
#include "segments/segment.h"
#include "campaigns/template_cmd.h"
#include "campaigns/preview.h"

#include <stddef.h>

/* The command table: one row per command; `loa --help` lists them in this order. */
const struct cli_command cli_commands[] = {
    {"db migrate", cmd_db_migrate, "", "apply the sql/ migrations not yet applied (idempotent)"},
    {"config check", cmd_config_check, "", "read the configuration and report every error"},
    {"config keys", cmd_config_keys, "", "list every configuration key with its default and range"},
    {"import citizens", cmd_import_citizens, "FILE.csv [--rejects OUT.csv] [--dry-run] [--json]", "upsert citizens from a CSV file; rejected rows are reported with their line and reason"},
    {"segment create", cmd_segment_create, "NAME --filter FILE.json [--json]", "define a segment (or update it) from a JSON filter"},
    {"segment count", cmd_segment_count, "NAME | --filter FILE.json [--json]", "count who is in a segment now, and how many are reachable by SMS"},
    {"segment list", cmd_segment_list, "[--json]", "list the segments with their filters"},
    {"template create", cmd_template_create, "NAME --channel sms|zns --file FILE [--lang vi] [--unaccent] [--zns-template-id ID] [--json]", "add or replace a language variant of a template (vi is required before a campaign can use it)"},
    {"template preview", cmd_template_preview, "NAME [--citizen ID] [--segment SEG] [--gateway GW] [--json]", "render a sample, and the longest rendering, parts and cost over a segment"},
    {NULL, NULL, NULL, NULL},
};
