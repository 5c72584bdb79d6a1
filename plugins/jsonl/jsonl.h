/* jsonl: JSON Lines files as a source and as a sink. */
#ifndef JSONL_H
#define JSONL_H

#include "hlbridge/hlbridge.h"

int jsonl_source_init(const hlb_host *host, hlb_instance *inst, void **state);
int jsonl_source_check(void *state, hlb_job *job);
int jsonl_source_poll(void *state, hlb_job *job);
void jsonl_source_fini(void *state);

int jsonl_sink_init(const hlb_host *host, hlb_instance *inst, void **state);
int jsonl_sink_check(void *state, hlb_job *job);
int jsonl_sink_deliver(void *state, hlb_job *job);
void jsonl_sink_fini(void *state);

#endif
