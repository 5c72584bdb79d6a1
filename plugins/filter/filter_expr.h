/* Boolean expressions over record bodies, for the filter plugin.
 *
 *     expr    := or
 *     or      := and ('or' and)*
 *     and     := unary ('and' unary)*
 *     unary   := 'not' unary | primary
 *     primary := '(' expr ')'
 *              | PATH 'exists'
 *              | PATH ('==' | '!=' | '<' | '<=' | '>' | '>=') LITERAL
 *              | PATH 'contains' LITERAL
 *
 * PATH is a host JSON path ($, .name, ["quoted name"], [N], [-N]); inside an
 * expression a .name ends at whitespace or any of ( ) = ! < > so that
 * `$.a==1` reads as expected; quote other names: $["a b"]. LITERAL is a JSON
 * string, number, true, false or null. Keywords are lowercase.
 *
 * Semantics, chosen so that `!=` is always exactly `not ==`:
 *  - `exists` is true when the path resolves, even to JSON null.
 *  - `==` compares by JSON type: numbers numerically (int and double mix),
 *    strings byte for byte, booleans, and null equals null. A string never
 *    equals a number, and objects and arrays never equal a literal.
 *  - A missing path equals nothing, not even null: `$.x == null` needs $.x to
 *    be present and null, and `$.x != null` is true when $.x is missing.
 *  - `< <= > >=` order numbers numerically and strings bytewise; any other
 *    pairing, and a missing path, is false.
 *  - `contains` is true for a string holding the literal string, or an array
 *    with an element `==` the literal; anything else is false.
 *
 * The engine allocates only while parsing: fx_eval is allocation-free and
 * safe to call concurrently on the same tree. */
#ifndef FILTER_EXPR_H
#define FILTER_EXPR_H

#include <stddef.h>

#include "hlbridge/hlbridge.h"

struct json_object;

typedef struct fx_node fx_node;

/* Compiles `text` using host->path_compile. On failure returns NULL and
 * writes a one-line message with a 1-based column into err. */
fx_node *fx_parse(const hlb_host *host, const char *text, char *err, size_t errlen);

/* Returns 1 when the expression holds for `body`, else 0. Paths are read
 * with host->path_lookup, which tells a JSON null from a missing path. */
int fx_eval(const hlb_host *host, const fx_node *n, struct json_object *body);

void fx_free(const hlb_host *host, fx_node *n);

#endif /* FILTER_EXPR_H */
