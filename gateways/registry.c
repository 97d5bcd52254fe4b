#include "gateways/gateway.h"
#include "gateways/http_sms.h"
#include "gateways/kannel.h"
#include "gateways/zalo_oa.h"
#include "gateways/zalo_zns.h"

#include <string.h>

/* Each gateway type defines its descriptor in its own file. */

const struct gateway_type *const gateway_types[] = {
    &kannel_type,
    &http_sms_type,
    &zalo_zns_type,
    &zalo_oa_type,
    NULL,
};

const struct gateway_type *gateway_type_find(const char *name)
{
    for (size_t i = 0; gateway_types[i]; i++)
        if (strcmp(gateway_types[i]->name, name) == 0)
            return gateway_types[i];
    return NULL;
}

void gateway_types_register(void)
{
    static struct cfg_section_type kinds[8];
    size_t n = 0;
    for (size_t i = 0; gateway_types[i] && n < sizeof kinds / sizeof kinds[0]; i++, n++)
        kinds[n] = (struct cfg_section_type){gateway_types[i]->name, gateway_types[i]->keys};
    config_register_types(kinds, n);
}
