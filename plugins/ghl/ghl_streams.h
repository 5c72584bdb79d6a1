/* The trigger streams of the ghl source: every Trigger row of ghl_ops[]
 * that `streams` names (besides `contacts`, the two-way stream of
 * ghl_source.c). Per location, each stream is read page by page with its
 * row's paging (ghl_pager.h), once per set of param.NAME values, and
 * only the items new or changed since the last poll are emitted (a
 * content hash per item id kept in the state store). Internal to the
 * module. */
#ifndef GHL_STREAMS_H
#define GHL_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "ghl_client.h"
#include "ghl_ops.h"

struct ghl;
typedef struct ghl_streams ghl_streams;
typedef struct ghl_srun ghl_srun;

/* Reads `streams` (the trigger names), param.NAME, max_pages,
 * checkpoint_pages, window_back and window_ahead. *contacts is set when
 * `contacts` is among the streams; *out is NULL when no trigger is.
 * HLB_OK, HLB_EINVAL (told with option_error) or HLB_ENOMEM. */
int ghl_streams_init(struct ghl *g, int *contacts, ghl_streams **out);
void ghl_streams_free(ghl_streams *s);

/* Reads every stream for location `head` (borrowed until it ends), then
 * ends it with ghl_fanout_done, or ghl_fanout_fail with the first error
 * when a request sequence failed (each failure is logged, and the other
 * sequences still run and store what they listed). *slot holds the run
 * while it goes; ghl_streams_cancel(slot) stops it (no callback after). */
void ghl_streams_loc_start(struct ghl *g, ghl_streams *s, ghl_fanout_loc *head, ghl_srun **slot);
void ghl_streams_cancel(ghl_srun **slot);

#endif
