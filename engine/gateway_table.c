#include "engine/gateway_table.h"
#include "engine/engine.h"
#include "gateways/gateway.h"

#include <string.h>

struct gateway *gateway_table_find(const struct engine *e, const char *name)
{
    for (size_t i = 0; i < e->ngateways; i++)
        if (e->gateways[i] && strcmp(e->gateways[i]->name, name) == 0)
            return e->gateways[i];
    return NULL;
}

struct gateway *gateway_table_for_channel(const struct engine *e, const char *channel)
{
    for (size_t i = 0; i < e->ngateways; i++) {
        struct gateway *gw = e->gateways[i];
        if (!gw || strcmp(gw->type->channel, channel) != 0)
            continue;
        if (strcmp(channel, "zalo") == 0 && strcmp(gw->type->name, "zalo_oa") == 0)
            continue;
        return gw;
    }
    return NULL;
}

const char *gateway_table_name_for_channel(const struct engine *e, const char *channel)
{
    const struct gateway *gw = gateway_table_for_channel(e, channel);
    return gw ? gw->name : "";
}
