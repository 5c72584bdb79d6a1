/* The event loop: one thread, libcurl's multi handle for all HTTP, a timer
 * heap, and a self-pipe for signals (and later wake-ups from the webhook
 * server). Nothing here blocks except the one wait per iteration. */
#ifndef HC_LOOP_H
#define HC_LOOP_H

#include <stdint.h>
#include <curl/curl.h>
#include "hlbridge/host.h"

typedef struct hc_loop hc_loop;

hc_loop *hc_loop_new(void);
void hc_loop_free(hc_loop *loop);
/* Monotonic milliseconds. */
int64_t hc_now_ms(void);

/* repeat_ms = 0: one shot, freed after it fires. */
hlb_timer *hc_timer_start(hc_loop *loop, int64_t delay_ms, int64_t repeat_ms,
			  hlb_timer_cb cb, void *arg);
void hc_timer_stop(hlb_timer *timer);
size_t hc_loop_timer_count(const hc_loop *loop);

CURLM *hc_loop_curl(hc_loop *loop);
/* Called for each finished transfer with its easy handle. */
void hc_loop_on_transfer(hc_loop *loop, void (*fn)(CURL *easy, CURLcode result, void *arg), void *arg);
/* SIGINT, SIGTERM and SIGHUP call fn on the loop (not in the signal handler). */
int hc_loop_catch_signals(hc_loop *loop, void (*fn)(int sig, void *arg), void *arg);

/* A file descriptor served by another library (the HTTP listener): the
 * loop waits for it to become readable, calls run() after every wait,
 * and waits no longer than timeout() says (ms; -1: no limit; 0: run
 * again at once). One watch per loop; fd -1 removes it. */
void hc_loop_watch(hc_loop *loop, int fd, void (*run)(void *arg), int64_t (*timeout)(void *arg),
		   void *arg);
/* Runs until hc_loop_stop(). */
void hc_loop_run(hc_loop *loop);
void hc_loop_stop(hc_loop *loop);

#endif
