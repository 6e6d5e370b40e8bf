/*
 * f8d routing: URL path + method -> which handler, as a pure function (no MHD, no server
 * state), so it can be tested on its own. Model names are looked up by the caller.
 *
 *   POST|PUT /predictions/{model}        F8D_ROUTE_PREDICT   (curl -T sends PUT)
 *   GET|HEAD /                           F8D_ROUTE_DEMO      (the demo page)
 *   GET|HEAD /v2                         F8D_ROUTE_SERVER_META
 *   GET|HEAD /v2/health/live             F8D_ROUTE_LIVE
 *   GET|HEAD /v2/health/ready            F8D_ROUTE_READY
 *   GET|HEAD /v2/models/{model}          F8D_ROUTE_MODEL_META
 *   GET|HEAD /v2/models/{model}/ready    F8D_ROUTE_MODEL_READY
 *   POST     /v2/models/{model}/infer    F8D_ROUTE_INFER
 *            (each /v2/models/{model}/... also as /v2/models/{model}/versions/{v}/...)
 *   GET|HEAD /metrics                    F8D_ROUTE_METRICS
 *   POST     /v2/repository/reload       F8D_ROUTE_RELOAD
 *   GET|POST /v2/repository/index        F8D_ROUTE_REPO_INDEX
 *   POST     /v2/repository/models/{m}/load    F8D_ROUTE_REPO_LOAD   (entry: the name)
 *   POST     /v2/repository/models/{m}/unload  F8D_ROUTE_REPO_UNLOAD
 *
 * A route that changes the server (loads, unloads or reloads models) is marked
 * `changes_server`: the one place that decides which calls `restricted_api` guards.
 */
#ifndef F8D_ROUTER_H
#define F8D_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest model name accepted in a path. */
#define F8D_MODEL_NAME_MAX 255

enum f8d_route_kind {
    F8D_ROUTE_NONE = 0,
    F8D_ROUTE_PREDICT,
    F8D_ROUTE_SERVER_META,
    F8D_ROUTE_LIVE,
    F8D_ROUTE_READY,
    F8D_ROUTE_MODEL_META,
    F8D_ROUTE_MODEL_READY,
    F8D_ROUTE_INFER,
    F8D_ROUTE_METRICS,
    F8D_ROUTE_RELOAD,
    F8D_ROUTE_REPO_INDEX,
    F8D_ROUTE_DEMO,
    F8D_ROUTE_REPO_LOAD,
    F8D_ROUTE_REPO_UNLOAD
};

struct f8d_route {
    enum f8d_route_kind kind;  /* set whenever the path is known, even on 405 */
    char model[F8D_MODEL_NAME_MAX + 1]; /* "" when the route has no model */
    char entry[F8D_MODEL_NAME_MAX + 1]; /* load/unload: the repository entry (it may not be
                                         * loaded, so it is not looked up as `model` is) */
    char version[32];          /* "" unless the path named one */
    const char *allow;         /* value of the Allow header for this path */
    bool changes_server;       /* a management call (reload): guarded by restricted_api */
};

/* Returns 0 when path and method match a route, 404 when the path is unknown (kind NONE),
 * or 405 when the path is known but the method is not allowed (out->allow says which are). */
int f8d_route_parse(const char *method, const char *path, struct f8d_route *out);

/* Default number of predictions for a model with num_classes classes. */
#define F8D_DEFAULT_TOP_K 5u

/* Parses the top_k query value: NULL means absent (default: min(5, num_classes)); otherwise
 * decimal digits only, 1..num_classes. Returns 0, or -1 when the value is invalid. */
int f8d_parse_top_k(const char *value, uint32_t num_classes, uint32_t *out);

#endif /* F8D_ROUTER_H */
