#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct hlb_timer {
	hc_loop *loop;
	int64_t due;
	int64_t repeat;
	uint64_t seq;      /* FIFO order among timers due at the same time */
	size_t slot;       /* index in the heap, or SIZE_MAX when not in it */
	hlb_timer_cb cb;
	void *arg;
	int firing, stopped;
};

struct hc_loop {
	hlb_timer **heap;
	size_t n, cap;
	uint64_t seq;
	CURLM *multi;
	void (*on_transfer)(CURL *, CURLcode, void *);
	void *transfer_arg;
	int sigpipe[2];
	void (*on_signal)(int, void *);
	void *signal_arg;
	int stop;
	int watch_fd;
	void (*watch_run)(void *);
	int64_t (*watch_timeout)(void *);
	void *watch_arg;
};

static int signal_fd = -1;

int64_t hc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

hc_loop *hc_loop_new(void)
{
	hc_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->sigpipe[0] = loop->sigpipe[1] = -1;
	loop->watch_fd = -1;
	loop->multi = curl_multi_init();
	if (!loop->multi) {
		free(loop);
		return NULL;
	}
	/* Transfers beyond this wait inside curl: a sink handing thousands of
	 * records to one host must not open thousands of connections. */
	curl_multi_setopt(loop->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 512L);
	return loop;
}

/* ---- timer heap --------------------------------------------------------- */

static int earlier(const hlb_timer *a, const hlb_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void place(hc_loop *l, size_t i, hlb_timer *t)
{
	l->heap[i] = t;
	t->slot = i;
}

static void sift_up(hc_loop *l, size_t i)
{
	hlb_timer *t = l->heap[i];

	while (i > 0 && earlier(t, l->heap[(i - 1) / 2])) {
		place(l, i, l->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(l, i, t);
}

static void sift_down(hc_loop *l, size_t i)
{
	hlb_timer *t = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= l->n)
			break;
		if (c + 1 < l->n && earlier(l->heap[c + 1], l->heap[c]))
			c++;
		if (!earlier(l->heap[c], t))
			break;
		place(l, i, l->heap[c]);
		i = c;
	}
	place(l, i, t);
}

static int heap_push(hc_loop *l, hlb_timer *t)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		hlb_timer **h = realloc(l->heap, cap * sizeof(*h));

		if (!h)
			return -1;
		l->heap = h;
		l->cap = cap;
	}
	t->seq = l->seq++;
	place(l, l->n++, t);
	sift_up(l, t->slot);
	return 0;
}

static void heap_remove(hc_loop *l, hlb_timer *t)
{
	size_t i = t->slot;

	if (i == SIZE_MAX)
		return;
	t->slot = SIZE_MAX;
	if (--l->n == i)
		return;
	hlb_timer *moved = l->heap[l->n];

	place(l, i, moved);
	sift_down(l, i);
	sift_up(l, moved->slot);
}

hlb_timer *hc_timer_start(hc_loop *loop, int64_t delay_ms, int64_t repeat_ms,
			  hlb_timer_cb cb, void *arg)
{
	hlb_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->loop = loop;
	t->due = hc_now_ms() + (delay_ms > 0 ? delay_ms : 0);
	t->repeat = repeat_ms > 0 ? repeat_ms : 0;
	t->cb = cb;
	t->arg = arg;
	if (heap_push(loop, t) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

void hc_timer_stop(hlb_timer *t)
{
	if (!t)
		return;
	if (t->firing) {
		t->stopped = 1; /* freed when its callback returns */
		return;
	}
	heap_remove(t->loop, t);
	free(t);
}

size_t hc_loop_timer_count(const hc_loop *loop)
{
	return loop->n;
}

static void run_due_timers(hc_loop *l)
{
	int64_t now = hc_now_ms();
	/* Timers added by callbacks run on the next round, so a callback that
	 * re-arms itself with delay 0 cannot starve HTTP and signals. */
	uint64_t limit = l->seq;

	while (l->n && l->heap[0]->due <= now && l->heap[0]->seq < limit && !l->stop) {
		hlb_timer *t = l->heap[0];

		heap_remove(l, t);
		t->firing = 1;
		t->cb(t->arg);
		t->firing = 0;
		if (t->repeat && !t->stopped) {
			t->due = now + t->repeat;
			if (heap_push(l, t) == 0)
				continue;
		}
		free(t);
	}
}

/* ---- curl and signals --------------------------------------------------- */

CURLM *hc_loop_curl(hc_loop *loop)
{
	return loop->multi;
}

void hc_loop_on_transfer(hc_loop *loop, void (*fn)(CURL *, CURLcode, void *), void *arg)
{
	loop->on_transfer = fn;
	loop->transfer_arg = arg;
}

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	if (signal_fd >= 0 && write(signal_fd, &b, 1) < 0) {
		/* The pipe is full: a stop is already pending. */
	}
	errno = saved;
}

int hc_loop_catch_signals(hc_loop *loop, void (*fn)(int, void *), void *arg)
{
	struct sigaction sa;

	if (loop->sigpipe[0] < 0) {
		if (pipe(loop->sigpipe) < 0)
			return -1;
		for (int i = 0; i < 2; i++) {
			fcntl(loop->sigpipe[i], F_SETFL, fcntl(loop->sigpipe[i], F_GETFL) | O_NONBLOCK);
			fcntl(loop->sigpipe[i], F_SETFD, FD_CLOEXEC);
		}
	}
	signal_fd = loop->sigpipe[1];
	loop->on_signal = fn;
	loop->signal_arg = arg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void drain_signals(hc_loop *l)
{
	unsigned char buf[16];
	ssize_t n;

	while ((n = read(l->sigpipe[0], buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			if (l->on_signal)
				l->on_signal(buf[i], l->signal_arg);
}

static void reap_transfers(hc_loop *l)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(l->multi, &left)))
		if (msg->msg == CURLMSG_DONE) {
			CURL *easy = msg->easy_handle;
			CURLcode rc = msg->data.result;

			curl_multi_remove_handle(l->multi, easy);
			if (l->on_transfer)
				l->on_transfer(easy, rc, l->transfer_arg);
		}
}

void hc_loop_watch(hc_loop *loop, int fd, void (*run)(void *arg), int64_t (*timeout)(void *arg),
		   void *arg)
{
	loop->watch_fd = run ? fd : -1;
	loop->watch_run = fd >= 0 ? run : NULL;
	loop->watch_timeout = fd >= 0 ? timeout : NULL;
	loop->watch_arg = arg;
}

void hc_loop_run(hc_loop *l)
{
	l->stop = 0;
	while (!l->stop) {
		int running = 0;
		long curl_ms = -1;
		int64_t wait;
		struct curl_waitfd extra[2];
		unsigned nextra = 0;

		if (l->sigpipe[0] >= 0)
			extra[nextra++] = (struct curl_waitfd){ .fd = l->sigpipe[0], .events = CURL_WAIT_POLLIN };
		if (l->watch_fd >= 0)
			extra[nextra++] = (struct curl_waitfd){ .fd = l->watch_fd, .events = CURL_WAIT_POLLIN };

		run_due_timers(l);
		if (l->stop)
			break;
		curl_multi_perform(l->multi, &running);
		reap_transfers(l);
		if (l->stop)
			break;

		wait = 1000;
		if (l->n) {
			int64_t until = l->heap[0]->due - hc_now_ms();

			wait = until < 0 ? 0 : (until < wait ? until : wait);
		}
		curl_multi_timeout(l->multi, &curl_ms);
		if (curl_ms >= 0 && curl_ms < wait)
			wait = curl_ms;
		if (l->watch_timeout) {
			int64_t w = l->watch_timeout(l->watch_arg);

			if (w >= 0 && w < wait)
				wait = w;
		}
		if (wait > 0)
			curl_multi_poll(l->multi, nextra ? extra : NULL, nextra, (int)wait, NULL);
		if (l->sigpipe[0] >= 0)
			drain_signals(l);
		if (l->watch_run && !l->stop)
			l->watch_run(l->watch_arg);
	}
}

void hc_loop_stop(hc_loop *loop)
{
	loop->stop = 1;
}

void hc_loop_free(hc_loop *loop)
{
	if (!loop)
		return;
	while (loop->n) {
		hlb_timer *t = loop->heap[0];

		heap_remove(loop, t);
		free(t);
	}
	free(loop->heap);
	curl_multi_cleanup(loop->multi);
	if (loop->sigpipe[0] >= 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal_fd = -1;
		close(loop->sigpipe[0]);
		close(loop->sigpipe[1]);
	}
	free(loop);
}
