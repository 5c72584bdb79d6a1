/* The rest of the GHL operation catalog in the fake (tests/fake_ghl_catalog.c):
 * a table of routes over seeded, stateful collections. fake_ghl.c routes,
 * authenticates, rate-limits and logs; the catalog says where a request
 * belongs and answers it. Everything runs under fake_ghl's world lock. */
#ifndef FAKE_GHL_CATALOG_H
#define FAKE_GHL_CATALOG_H

#include <stddef.h>
#include <stdint.h>

struct MHD_Connection;
struct fh_req;
struct json_object;

/* Who may call a route. */
enum fgc_who { FGC_LOCATION, FGC_AGENCY, FGC_EITHER };

/* Where a request belongs, told before the token is checked. */
struct fgc_where {
	const char *loc;        /* a location id, or NULL */
	int unknown;            /* an unknown id: only the token is checked */
	enum fgc_who who;
	const char *version;    /* the Version header wanted; NULL: fake_ghl's */
	char buf[128];
};

int fgc_route(const char *url, const char *method);      /* a route index, or -1 */
const char *fgc_name(int r);                             /* for the log and the counters */
void fgc_where(int r, struct MHD_Connection *c, const struct fh_req *rq, const char *url, struct fgc_where *wh);
/* li: the location index, -1 for an agency token on an agency or either route */
void fgc_handle(int r, struct MHD_Connection *c, struct fh_req *rq, const char *url, int li);
void fgc_seed(void);
void fgc_free(void);
struct json_object *fgc_seed_json(void);                 /* GET /_control/catalog-seed */

/* ---- from fake_ghl.c ---- */
void fg_error(struct fh_req *rq, unsigned status, const char *message);
void fg_json(struct fh_req *rq, unsigned status, struct json_object *o);  /* consumes o */
size_t fg_nloc(void);
const char *fg_loc_id(size_t li);
const char *fg_loc_name(size_t li);
int fg_loc_find(const char *id);
const char *fg_company_id(void);
void fg_make_id(char out[21], uint64_t kind, size_t li, size_t seq);
void fg_iso_time(int64_t ms, char *out, size_t n);             /* 2024-01-01T00:00:00.000Z */
size_t fg_ncontacts(size_t li);
const char *fg_contact_id(size_t li, size_t k);         /* NULL: deleted */
int fg_contact_loc(const char *id);                      /* -1: unknown or deleted */
struct json_object *fg_contact_json(const char *id);     /* a new object, or NULL */
int fg_contact_tags(const char *id, struct json_object *tags, int del);  /* -1: unknown */
void fg_contact_create(struct fh_req *rq, int li);
void fg_contact_delete(struct fh_req *rq, const char *id);
void fg_contact_list(struct MHD_Connection *c, struct fh_req *rq, int li);
void fg_contact_duplicate(struct MHD_Connection *c, struct fh_req *rq, int li);
int fg_opp_loc(const char *id);                          /* -1: unknown or deleted */
void fg_opp(struct MHD_Connection *c, struct fh_req *rq, const char *method, const char *id, const char *sub, int li);

#endif
