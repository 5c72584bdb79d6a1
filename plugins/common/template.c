/* Message templates of the modules (see template.h). */
#ifdef HAVE_CONFIG_H
#include "build_config.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

char *tmpl_trimmed(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return strndup(s, n);
}

void tmpl_clear(const hlb_host *host, tmpl *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->p[i].text);
		if (t->p[i].path)
			host->path_free(t->p[i].path);
	}
	free(t->p);
	t->p = NULL;
	t->n = 0;
}

static int tmpl_add(tmpl *t, char *text, hlb_path *path)
{
	tmpl_piece *p = realloc(t->p, (t->n + 1) * sizeof(*p));

	if (!p)
		return HLB_ENOMEM;
	t->p = p;
	t->p[t->n].text = text;
	t->p[t->n].path = path;
	t->n++;
	return HLB_OK;
}

int tmpl_compile(const hlb_host *host, const char *src, tmpl *t, char *err, size_t errlen)
{
	const char *s = src;

	while (*s) {
		const char *open = strstr(s, "{{"), *close;
		char *lit, *ptext;
		hlb_path *path;
		char perr[256];

		if (open != s) {
			size_t n = open ? (size_t)(open - s) : strlen(s);

			if (!(lit = strndup(s, n)) || tmpl_add(t, lit, NULL) != HLB_OK) {
				free(lit);
				return HLB_ENOMEM;
			}
			s += n;
			continue;
		}
		close = strstr(open + 2, "}}");
		if (!close) {
			snprintf(err, errlen, "unterminated {{ at column %zu (expected {{$.path}})",
				 (size_t)(open - src) + 1);
			return HLB_EINVAL;
		}
		if (!(ptext = tmpl_trimmed(open + 2, (size_t)(close - open - 2))))
			return HLB_ENOMEM;
		if (ptext[0] != '$') {
			snprintf(err, errlen, "expected a $.path inside {{ }} at column %zu, not \"%s\"",
				 (size_t)(open - src) + 1, ptext);
			free(ptext);
			return HLB_EINVAL;
		}
		path = host->path_compile(ptext, perr, sizeof(perr));
		if (!path) {
			snprintf(err, errlen, "{{%s}} at column %zu: %s", ptext, (size_t)(open - src) + 1, perr);
			free(ptext);
			return HLB_EINVAL;
		}
		free(ptext);
		if (tmpl_add(t, NULL, path) != HLB_OK) {
			host->path_free(path);
			return HLB_ENOMEM;
		}
		s = close + 2;
	}
	return HLB_OK;
}

void tmpl_render(const hlb_host *host, const tmpl *t, struct json_object *body, sb_buf *b,
		 tmpl_value_fn add_value, void *arg)
{
	for (size_t i = 0; i < t->n; i++) {
		struct json_object *v;

		if (t->p[i].text)
			sb_add_cut(b, t->p[i].text, strlen(t->p[i].text));
		else if (host->path_lookup(t->p[i].path, body, &v))
			add_value(b, v, arg);
	}
}
