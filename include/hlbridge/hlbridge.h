/* hlbridge plugin SDK: the one header a plugin includes.
 * Build flags: `pkg-config --cflags hlbridge-plugin`. */
#ifndef HLBRIDGE_H
#define HLBRIDGE_H

#include "abi.h"
#include "host.h"
#include "plugin.h"

#endif /* HLBRIDGE_H */
