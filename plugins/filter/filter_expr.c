/* Expression engine of the filter plugin: a recursive-descent parser that
 * builds a small tree once per configuration, and an evaluator that walks it
 * per record without allocating. The grammar and the semantics are described
 * in filter_expr.h. */
#include "filter_expr.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds the recursion of parser, evaluator and fx_free alike; a config
 * file has no business nesting parentheses or 'not's deeper than this. */
#define FX_MAX_DEPTH 64

/* Longest token quoted back in an error message, in bytes. */
#define FX_QUOTE_MAX 40

/* num_cmp() result when a NaN makes two numbers incomparable. */
#define FX_UNORDERED 2

enum fx_kind { FX_OR, FX_AND, FX_NOT, FX_TEST };

enum fx_op { FX_EQ, FX_NE, FX_LT, FX_LE, FX_GT, FX_GE, FX_EXISTS, FX_CONTAINS };

enum fx_lit_type { FX_LIT_NULL, FX_LIT_BOOL, FX_LIT_NUM, FX_LIT_STR };

struct fx_num {
	int is_int;
	int64_t i;
	double d;
};

struct fx_lit {
	enum fx_lit_type type;
	int b;
	struct fx_num num;
	char *s;    /* may hold NUL bytes (\u0000), hence len */
	size_t len;
};

struct fx_node {
	enum fx_kind kind;
	union {
		struct {
			size_t n;
			fx_node **kid;
		} list; /* FX_OR, FX_AND */
		fx_node *sub; /* FX_NOT */
		struct {
			enum fx_op op;
			hlb_path *path;
			struct fx_lit lit;
		} test;
	} u;
};

/* ---- evaluation ---------------------------------------------------------- */

/* Reads a JSON number the way literals are read, so both sides agree. */
static int json_num(struct json_object *v, struct fx_num *out)
{
	switch (json_object_get_type(v)) {
	case json_type_int:
		out->is_int = 1;
		out->i = json_object_get_int64(v);
		if (out->i == INT64_MAX) {
			/* json-c keeps integers above INT64_MAX as uint64. */
			uint64_t u = json_object_get_uint64(v);

			if (u > (uint64_t)INT64_MAX) {
				out->is_int = 0;
				out->d = (double)u;
			}
		}
		return 1;
	case json_type_double:
		out->is_int = 0;
		out->d = json_object_get_double(v);
		return 1;
	default:
		return 0;
	}
}

/* Exact comparison of an integer with a double: converting the integer to
 * double would round above 2^53 and call 2^53+1 equal to 2^53. */
static int cmp_int_dbl(int64_t i, double d)
{
	int64_t t;
	double frac;

	if (isnan(d))
		return FX_UNORDERED;
	if (d >= 9223372036854775808.0)
		return -1;
	if (d < -9223372036854775808.0)
		return 1;
	t = (int64_t)d;
	if (i != t)
		return i < t ? -1 : 1;
	frac = d - (double)t;
	return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static int num_cmp(const struct fx_num *a, const struct fx_num *b)
{
	int c;

	if (a->is_int && b->is_int)
		return a->i < b->i ? -1 : a->i > b->i;
	if (a->is_int)
		return cmp_int_dbl(a->i, b->d);
	if (b->is_int) {
		c = cmp_int_dbl(b->i, a->d);
		return c == FX_UNORDERED ? c : -c;
	}
	if (isnan(a->d) || isnan(b->d))
		return FX_UNORDERED;
	return a->d < b->d ? -1 : a->d > b->d;
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c < 0 ? -1 : 1;
	return alen < blen ? -1 : alen > blen;
}

static int has_substring(const char *h, size_t hlen, const char *n, size_t nlen)
{
	const char *c;

	if (nlen == 0)
		return 1;
	while (hlen >= nlen) {
		c = memchr(h, n[0], hlen - nlen + 1);
		if (!c)
			return 0;
		if (memcmp(c, n, nlen) == 0)
			return 1;
		hlen -= (size_t)(c - h) + 1;
		h = c + 1;
	}
	return 0;
}

/* `v` is a present value; JSON null is v == NULL, as everywhere in json-c. */
static int equals(struct json_object *v, const struct fx_lit *lit)
{
	struct fx_num num;

	switch (lit->type) {
	case FX_LIT_NULL:
		return v == NULL;
	case FX_LIT_BOOL:
		return json_object_is_type(v, json_type_boolean) &&
		       !json_object_get_boolean(v) == !lit->b;
	case FX_LIT_NUM:
		return json_num(v, &num) && num_cmp(&num, &lit->num) == 0;
	case FX_LIT_STR:
		return json_object_is_type(v, json_type_string) &&
		       bytes_cmp(json_object_get_string(v), (size_t)json_object_get_string_len(v),
				 lit->s, lit->len) == 0;
	}
	return 0;
}

/* Three-way comparison of a value with a number or string literal, or
 * FX_UNORDERED when they cannot be ordered. */
static int order(struct json_object *v, const struct fx_lit *lit)
{
	struct fx_num num;

	if (lit->type == FX_LIT_NUM && json_num(v, &num))
		return num_cmp(&num, &lit->num);
	if (lit->type == FX_LIT_STR && json_object_is_type(v, json_type_string))
		return bytes_cmp(json_object_get_string(v), (size_t)json_object_get_string_len(v),
				 lit->s, lit->len);
	return FX_UNORDERED;
}

static int contains(struct json_object *v, const struct fx_lit *lit)
{
	size_t i, n;

	if (json_object_is_type(v, json_type_string))
		return lit->type == FX_LIT_STR &&
		       has_substring(json_object_get_string(v), (size_t)json_object_get_string_len(v),
				     lit->s, lit->len);
	if (!json_object_is_type(v, json_type_array))
		return 0;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++)
		if (equals(json_object_array_get_idx(v, i), lit))
			return 1;
	return 0;
}

static int eval_test(const hlb_host *host, const fx_node *n, struct json_object *body)
{
	/* path_lookup, not path_get: only it tells a JSON null (v == NULL)
	 * from a missing path, which `exists`, `== null` and `!=` rely on. */
	struct json_object *v;
	int found = host->path_lookup(n->u.test.path, body, &v);
	const struct fx_lit *lit = &n->u.test.lit;
	int c;

	switch (n->u.test.op) {
	case FX_EXISTS:
		return found;
	case FX_EQ:
		return found && equals(v, lit);
	case FX_NE:
		return !(found && equals(v, lit));
	case FX_CONTAINS:
		return found && contains(v, lit);
	default:
		break;
	}
	if (!found || (c = order(v, lit)) == FX_UNORDERED)
		return 0;
	switch (n->u.test.op) {
	case FX_LT:
		return c < 0;
	case FX_LE:
		return c <= 0;
	case FX_GT:
		return c > 0;
	case FX_GE:
		return c >= 0;
	default:
		return 0;
	}
}

int fx_eval(const hlb_host *host, const fx_node *n, struct json_object *body)
{
	size_t i;

	if (!n)
		return 0;
	switch (n->kind) {
	case FX_OR:
		for (i = 0; i < n->u.list.n; i++)
			if (fx_eval(host, n->u.list.kid[i], body))
				return 1;
		return 0;
	case FX_AND:
		for (i = 0; i < n->u.list.n; i++)
			if (!fx_eval(host, n->u.list.kid[i], body))
				return 0;
		return 1;
	case FX_NOT:
		return !fx_eval(host, n->u.sub, body);
	case FX_TEST:
		return eval_test(host, n, body);
	}
	return 0;
}

void fx_free(const hlb_host *host, fx_node *n)
{
	size_t i;

	if (!n)
		return;
	switch (n->kind) {
	case FX_OR:
	case FX_AND:
		for (i = 0; i < n->u.list.n; i++)
			fx_free(host, n->u.list.kid[i]);
		free(n->u.list.kid);
		break;
	case FX_NOT:
		fx_free(host, n->u.sub);
		break;
	case FX_TEST:
		if (n->u.test.path)
			host->path_free(n->u.test.path);
		free(n->u.test.lit.s);
		break;
	}
	free(n);
}

/* ---- lexer --------------------------------------------------------------- */

enum tok_kind { T_END, T_LPAREN, T_RPAREN, T_PATH, T_STRING, T_NUMBER, T_WORD, T_OP };

struct tok {
	enum tok_kind kind;
	size_t start;
	size_t len;
	enum fx_op op; /* T_OP */
};

struct parser {
	const hlb_host *host;
	const char *text;
	size_t pos; /* where the next token is looked for */
	struct tok tok;
	int depth;
	int failed;
	char *err;
	size_t errlen;
};

/* Keeps the first message only: later ones are consequences of it. */
HLB_PRINTF(2, 3)
static void fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = 1;
	if (!p->err || !p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
}

/* 1-based, in characters rather than bytes, so UTF-8 text lines up with
 * what the user sees in an editor. */
static size_t column(const struct parser *p, size_t off)
{
	size_t i, col = 1;

	for (i = 0; i < off; i++)
		if (((unsigned char)p->text[i] & 0xC0) != 0x80)
			col++;
	return col;
}

/* Length of a token as quoted in messages: capped, never splitting a UTF-8
 * sequence. */
static int quote_len(const char *s, size_t len)
{
	if (len > FX_QUOTE_MAX) {
		len = FX_QUOTE_MAX;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	return (int)len;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_word_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_word_char(char c)
{
	return is_word_start(c) || is_digit(c);
}

/* A .name in a path runs up to whatever would end it for path_compile, or
 * to a character the expression itself uses. */
static int is_name_char(char c)
{
	return c && !is_space(c) && !strchr(".[]\"'()=!<>", c);
}

static size_t utf8_len(const char *s)
{
	size_t n = 1;

	while (n < 4 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n++;
	return n;
}

static int hex4(const char *s)
{
	int i, v = 0;

	for (i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static size_t put_utf8(char *out, long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes the \uXXXX escape (or surrogate pair) at s[*i], moving *i past
 * it. Returns the code point, or -1. */
static long unicode_escape(const char *s, size_t *i)
{
	long hi = hex4(s + *i + 2), lo;

	if (hi < 0 || (hi >= 0xDC00 && hi <= 0xDFFF))
		return -1;
	*i += 6;
	if (hi < 0xD800 || hi > 0xDBFF)
		return hi;
	if (s[*i] != '\\' || s[*i + 1] != 'u')
		return -1;
	lo = hex4(s + *i + 2);
	if (lo < 0xDC00 || lo > 0xDFFF)
		return -1;
	*i += 6;
	return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
}

/* Walks the string literal whose opening quote is at `start`: checks it,
 * decodes it into `out` when given (the raw length is always room enough),
 * and returns the offset just past the closing quote, or 0 after fail(). */
static size_t walk_string(struct parser *p, size_t start, char *out, size_t *outlen)
{
	static const char plain[] = "\"\\/bfnrt";
	static const char value[] = "\"\\/\b\f\n\r\t";
	const char *s = p->text;
	size_t i = start + 1, n = 0;

	for (;;) {
		char c = s[i];

		if (c == '"')
			break;
		if (!c || (c == '\\' && !s[i + 1])) {
			fail(p, "unterminated string at column %zu", column(p, start));
			return 0;
		}
		if (c != '\\') {
			if (out)
				out[n] = c;
			n++;
			i++;
		} else if (s[i + 1] == 'u') {
			size_t at = i;
			long cp = unicode_escape(s, &i);
			char buf[4];

			if (cp < 0) {
				fail(p, "invalid \\u escape in string at column %zu "
				     "(expected four hex digits, surrogates in pairs)", column(p, at));
				return 0;
			}
			n += put_utf8(out ? out + n : buf, cp);
		} else {
			const char *e = strchr(plain, s[i + 1]);

			if (!e) {
				fail(p, "invalid escape '\\%.*s' in string at column %zu",
				     (int)utf8_len(s + i + 1), s + i + 1, column(p, i));
				return 0;
			}
			if (out)
				out[n] = value[e - plain];
			n++;
			i += 2;
		}
	}
	if (outlen)
		*outlen = n;
	return i + 1;
}

/* Scans JSON number syntax; something like 1. or 01 or 1x is one malformed
 * token rather than a number followed by junk. */
static size_t lex_number(struct parser *p, size_t start)
{
	const char *s = p->text;
	size_t i = start;
	int ok = 1;

	if (s[i] == '-')
		i++;
	if (s[i] == '0')
		i++;
	else if (is_digit(s[i]))
		while (is_digit(s[i]))
			i++;
	else
		ok = 0;
	if (ok && s[i] == '.') {
		i++;
		ok = is_digit(s[i]);
		while (is_digit(s[i]))
			i++;
	}
	if (ok && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (s[i] == '+' || s[i] == '-')
			i++;
		ok = is_digit(s[i]);
		while (is_digit(s[i]))
			i++;
	}
	if (ok && !is_word_char(s[i]) && s[i] != '.')
		return i;
	while (is_word_char(s[i]) || s[i] == '.' || s[i] == '+' || s[i] == '-')
		i++;
	fail(p, "malformed number '%.*s' at column %zu", quote_len(s + start, i - start),
	     s + start, column(p, start));
	return 0;
}

/* Finds where a path ends; path_compile judges the segments themselves. */
static size_t lex_path(struct parser *p, size_t start)
{
	const char *s = p->text;
	size_t i = start + 1, open;

	for (;;) {
		open = i;
		if (s[i] == '.') {
			i++;
			while (is_name_char(s[i]))
				i++;
		} else if (s[i] == '[' && (s[i + 1] == '"' || s[i + 1] == '\'')) {
			char q = s[i + 1];

			for (i += 2; s[i] && s[i] != q; i++)
				if (s[i] == '\\' && s[i + 1])
					i++;
			if (!s[i]) {
				fail(p, "unterminated quoted name in path at column %zu", column(p, open));
				return 0;
			}
			if (s[++i] != ']') {
				fail(p, "expected ']' after the quoted name in path at column %zu",
				     column(p, i));
				return 0;
			}
			i++;
		} else if (s[i] == '[') {
			while (s[i] && s[i] != ']' && !is_space(s[i]))
				i++;
			if (s[i] != ']') {
				fail(p, "missing ']' for the '[' in path at column %zu", column(p, open));
				return 0;
			}
			i++;
		} else {
			/* Junk glued to the path ($a, $.a[0]x) is left for
			 * path_compile to name. */
			while (is_name_char(s[i]))
				i++;
			return i;
		}
	}
}

/* Reads the operator at `i` into t; 0 after fail() for a lone = or !. */
static size_t lex_op(struct parser *p, size_t i, struct tok *t)
{
	const char *s = p->text;
	int eq = s[i + 1] == '=';

	switch (s[i]) {
	case '=':
		t->op = FX_EQ;
		break;
	case '!':
		t->op = FX_NE;
		break;
	case '<':
		t->op = eq ? FX_LE : FX_LT;
		return i + 1 + eq;
	default:
		t->op = eq ? FX_GE : FX_GT;
		return i + 1 + eq;
	}
	if (eq)
		return i + 2;
	fail(p, "unexpected '%c' at column %zu (%s)", s[i], column(p, i),
	     s[i] == '=' ? "did you mean '=='?" : "use != or 'not'");
	return 0;
}

/* Moves to the next token. Returns -1 after fail() on a lexical error. */
static int next(struct parser *p)
{
	const char *s = p->text;
	struct tok *t = &p->tok;
	size_t i = p->pos, end;

	while (is_space(s[i]))
		i++;
	t->start = i;
	switch (s[i]) {
	case '\0':
		t->kind = T_END;
		end = i;
		break;
	case '(':
	case ')':
		t->kind = s[i] == '(' ? T_LPAREN : T_RPAREN;
		end = i + 1;
		break;
	case '$':
		t->kind = T_PATH;
		end = lex_path(p, i);
		break;
	case '"':
		t->kind = T_STRING;
		end = walk_string(p, i, NULL, NULL);
		break;
	case '=':
	case '!':
	case '<':
	case '>':
		t->kind = T_OP;
		end = lex_op(p, i, t);
		break;
	default:
		if (s[i] == '-' || is_digit(s[i])) {
			t->kind = T_NUMBER;
			end = lex_number(p, i);
		} else if (is_word_start(s[i])) {
			t->kind = T_WORD;
			for (end = i + 1; is_word_char(s[end]); end++)
				;
		} else {
			fail(p, "unexpected '%.*s' at column %zu", (int)utf8_len(s + i), s + i,
			     column(p, i));
			end = 0;
		}
	}
	if (p->failed)
		return -1;
	t->len = end - i;
	p->pos = end;
	return 0;
}

/* ---- parser -------------------------------------------------------------- */

static int is_word(const struct parser *p, const char *kw)
{
	return p->tok.kind == T_WORD && p->tok.len == strlen(kw) &&
	       memcmp(p->text + p->tok.start, kw, p->tok.len) == 0;
}

/* For AND, Or, NOT and friends: worth a hint, since keywords are lowercase. */
static int is_miscased_keyword(const struct parser *p)
{
	static const char *const kw[] = {
		"and", "or", "not", "exists", "contains", "true", "false", "null"
	};
	size_t i, j;

	if (p->tok.kind != T_WORD)
		return 0;
	for (i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		if (strlen(kw[i]) != p->tok.len)
			continue;
		for (j = 0; j < p->tok.len; j++) {
			char c = p->text[p->tok.start + j];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != kw[i][j])
				break;
		}
		if (j == p->tok.len)
			return 1;
	}
	return 0;
}

static void unexpected(struct parser *p, const char *expected)
{
	const struct tok *t = &p->tok;

	if (t->kind == T_END)
		fail(p, "unexpected end of expression: expected %s", expected);
	else
		fail(p, "unexpected '%.*s' at column %zu: expected %s%s",
		     quote_len(p->text + t->start, t->len), p->text + t->start,
		     column(p, t->start), expected,
		     is_miscased_keyword(p) ? " (keywords are lowercase)" : "");
}

static char *dup_bytes(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

static fx_node *new_node(struct parser *p, enum fx_kind kind)
{
	fx_node *n = calloc(1, sizeof(*n));

	if (!n)
		fail(p, "out of memory");
	else
		n->kind = kind;
	return n;
}

static int enter(struct parser *p)
{
	if (++p->depth <= FX_MAX_DEPTH)
		return 0;
	fail(p, "expression nested too deeply at column %zu (more than %d levels)",
	     column(p, p->tok.start), FX_MAX_DEPTH);
	return -1;
}

/* Compiles the path token with the host's compiler, so that a path means
 * here exactly what it means everywhere else, and its errors read the same. */
static hlb_path *compile_path(struct parser *p)
{
	char msg[512];
	char *text = dup_bytes(p->text + p->tok.start, p->tok.len);
	hlb_path *path;

	if (!text) {
		fail(p, "out of memory");
		return NULL;
	}
	msg[0] = '\0';
	path = p->host->path_compile(text, msg, sizeof(msg));
	if (!path)
		fail(p, "%s (the path starts at column %zu)", msg[0] ? msg : "bad JSON path",
		     column(p, p->tok.start));
	free(text);
	return path;
}

/* Exact for anything that fits; 0 when the decimal integer does not. */
static int parse_int64(const char *s, size_t len, int64_t *out)
{
	int neg = s[0] == '-';
	uint64_t limit = (uint64_t)INT64_MAX + (uint64_t)neg, v = 0;
	size_t i;

	for (i = (size_t)neg; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (limit - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	if (!neg)
		*out = (int64_t)v;
	else
		*out = v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
	return 1;
}

/* Integers that fit int64 stay exact; the rest become doubles. The double
 * is read by json-c, which does it locale-independently, and an integer
 * gets ".0" first because json-c saturates huge integers instead. */
static int number_literal(struct parser *p, struct fx_lit *lit)
{
	const char *s = p->text + p->tok.start;
	size_t len = p->tok.len;
	int is_int = !memchr(s, '.', len) && !memchr(s, 'e', len) && !memchr(s, 'E', len);
	struct json_object *v;
	char *text;

	lit->type = FX_LIT_NUM;
	if (is_int && parse_int64(s, len, &lit->num.i)) {
		lit->num.is_int = 1;
		return 0;
	}
	if (!(text = malloc(len + 3))) {
		fail(p, "out of memory");
		return -1;
	}
	memcpy(text, s, len);
	memcpy(text + len, is_int ? ".0" : "", is_int ? 3 : 1);
	v = json_tokener_parse(text);
	free(text);
	lit->num.is_int = 0;
	lit->num.d = json_object_get_double(v);
	if (!json_object_is_type(v, json_type_double) || !isfinite(lit->num.d)) {
		json_object_put(v);
		fail(p, "number '%.*s' out of range at column %zu", quote_len(s, len), s,
		     column(p, p->tok.start));
		return -1;
	}
	json_object_put(v);
	return 0;
}

static int parse_literal(struct parser *p, struct fx_lit *lit, const char *after)
{
	const struct tok *t = &p->tok;

	if (t->kind == T_STRING) {
		lit->s = malloc(t->len);
		if (!lit->s) {
			fail(p, "out of memory");
			return -1;
		}
		walk_string(p, t->start, lit->s, &lit->len);
		lit->s[lit->len] = '\0';
		lit->type = FX_LIT_STR;
	} else if (t->kind == T_NUMBER) {
		if (number_literal(p, lit) < 0)
			return -1;
	} else if (is_word(p, "true") || is_word(p, "false")) {
		lit->type = FX_LIT_BOOL;
		lit->b = is_word(p, "true");
	} else if (is_word(p, "null")) {
		lit->type = FX_LIT_NULL;
	} else {
		char expected[128];

		snprintf(expected, sizeof(expected),
			 "a \"string\", a number, true, false or null after %s%s", after,
			 t->kind == T_PATH ? " (a path compares with literals only)" : "");
		unexpected(p, expected);
		return -1;
	}
	return next(p);
}

static const char *op_text(enum fx_op op)
{
	static const char *const text[] = { "==", "!=", "<", "<=", ">", ">=", "exists", "contains" };

	return text[op];
}

static fx_node *parse_test(struct parser *p)
{
	fx_node *n = new_node(p, FX_TEST);
	struct tok path = p->tok;
	enum fx_op op;

	if (!n)
		return NULL;
	if (!(n->u.test.path = compile_path(p)) || next(p) < 0)
		goto fail;
	if (is_word(p, "exists")) {
		n->u.test.op = FX_EXISTS;
		if (next(p) < 0)
			goto fail;
		return n;
	}
	if (is_word(p, "contains")) {
		op = FX_CONTAINS;
	} else if (p->tok.kind == T_OP) {
		op = p->tok.op;
	} else {
		if (p->tok.kind == T_END)
			fail(p, "expected a comparison operator after %.*s at end of expression "
			     "(==, !=, <, <=, >, >=, exists or contains)",
			     quote_len(p->text + path.start, path.len), p->text + path.start);
		else
			fail(p, "expected a comparison operator after %.*s at column %zu, found '%.*s'%s "
			     "(==, !=, <, <=, >, >=, exists or contains)",
			     quote_len(p->text + path.start, path.len), p->text + path.start,
			     column(p, p->tok.start), quote_len(p->text + p->tok.start, p->tok.len),
			     p->text + p->tok.start,
			     is_miscased_keyword(p) ? " (keywords are lowercase)" : "");
		goto fail;
	}
	n->u.test.op = op;
	if (next(p) < 0)
		goto fail;
	if (op >= FX_LT && op <= FX_GE &&
	    (is_word(p, "true") || is_word(p, "false") || is_word(p, "null"))) {
		fail(p, "%s needs a number or a string, not %.*s, at column %zu", op_text(op),
		     (int)p->tok.len, p->text + p->tok.start, column(p, p->tok.start));
		goto fail;
	}
	if (parse_literal(p, &n->u.test.lit, op_text(op)) < 0)
		goto fail;
	return n;
fail:
	fx_free(p->host, n);
	return NULL;
}

static fx_node *parse_or(struct parser *p);

static fx_node *parse_primary(struct parser *p)
{
	fx_node *n;
	size_t open;

	switch (p->tok.kind) {
	case T_PATH:
		return parse_test(p);
	case T_LPAREN:
		open = p->tok.start;
		if (enter(p) < 0 || next(p) < 0)
			return NULL;
		if (!(n = parse_or(p)))
			return NULL;
		p->depth--;
		if (p->tok.kind == T_RPAREN) {
			if (next(p) == 0)
				return n;
		} else if (p->tok.kind == T_END) {
			fail(p, "unbalanced parenthesis: the '(' at column %zu is never closed",
			     column(p, open));
		} else {
			unexpected(p, "'and', 'or' or ')'");
		}
		fx_free(p->host, n);
		return NULL;
	case T_STRING:
	case T_NUMBER:
		unexpected(p, "a $path on the left, as in $.n == 1");
		return NULL;
	default:
		if (is_word(p, "true") || is_word(p, "false") || is_word(p, "null"))
			unexpected(p, "a $path on the left, as in $.n == 1");
		else
			unexpected(p, "a $path, 'not' or '('");
		return NULL;
	}
}

static fx_node *parse_unary(struct parser *p)
{
	fx_node *n, *sub;

	if (!is_word(p, "not"))
		return parse_primary(p);
	if (enter(p) < 0 || next(p) < 0)
		return NULL;
	if (!(sub = parse_unary(p)))
		return NULL;
	p->depth--;
	if (!(n = new_node(p, FX_NOT))) {
		fx_free(p->host, sub);
		return NULL;
	}
	n->u.sub = sub;
	return n;
}

/* Appends kid to a list node; frees kid on failure. */
static int push(struct parser *p, fx_node *list, fx_node *kid)
{
	fx_node **k = realloc(list->u.list.kid, (list->u.list.n + 1) * sizeof(*k));

	if (!k) {
		fail(p, "out of memory");
		fx_free(p->host, kid);
		return -1;
	}
	list->u.list.kid = k;
	k[list->u.list.n++] = kid;
	return 0;
}

/* An n-ary node rather than a chain of binary ones, so that a long run of
 * 'or's costs a loop, not a deep recursion. */
static fx_node *parse_list(struct parser *p, enum fx_kind kind, const char *kw,
			   fx_node *(*operand)(struct parser *))
{
	fx_node *first = operand(p), *list, *kid;

	if (!first || !is_word(p, kw))
		return first;
	if (!(list = new_node(p, kind)) || push(p, list, first) < 0) {
		if (!list)
			fx_free(p->host, first);
		fx_free(p->host, list);
		return NULL;
	}
	while (is_word(p, kw)) {
		if (next(p) < 0 || !(kid = operand(p)) || push(p, list, kid) < 0) {
			fx_free(p->host, list);
			return NULL;
		}
	}
	return list;
}

static fx_node *parse_and(struct parser *p)
{
	return parse_list(p, FX_AND, "and", parse_unary);
}

static fx_node *parse_or(struct parser *p)
{
	return parse_list(p, FX_OR, "or", parse_and);
}

fx_node *fx_parse(const hlb_host *host, const char *text, char *err, size_t errlen)
{
	struct parser p = { .host = host, .text = text, .err = err, .errlen = errlen };
	fx_node *n;

	if (err && errlen)
		err[0] = '\0';
	if (!host || !text) {
		fail(&p, "no expression");
		return NULL;
	}
	if (next(&p) < 0)
		return NULL;
	if (p.tok.kind == T_END) {
		fail(&p, "empty expression");
		return NULL;
	}
	if (!(n = parse_or(&p)))
		return NULL;
	if (p.tok.kind == T_END)
		return n;
	if (p.tok.kind == T_RPAREN)
		fail(&p, "unbalanced parenthesis: unexpected ')' at column %zu",
		     column(&p, p.tok.start));
	else
		unexpected(&p, "'and', 'or' or end of expression");
	fx_free(host, n);
	return NULL;
}
