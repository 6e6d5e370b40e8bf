/* f8d routing: path and method to route, and the top_k query parameter. */
#include "router.h"

#include <string.h>

#define ALLOW_PREDICT "POST, PUT"
#define ALLOW_GET "GET, HEAD"
#define ALLOW_INFER "POST"
#define ALLOW_INDEX "GET, HEAD, POST"

static int is_get(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

static int is_post(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0;
}

/* Copies one path segment [s, s+len) as a model name; 0 if it is acceptable. */
static int take_name(const char *s, size_t len, struct f8d_route *out)
{
    if (len == 0 || len > F8D_MODEL_NAME_MAX || memchr(s, '/', len) != NULL)
        return -1;
    memcpy(out->model, s, len);
    out->model[len] = '\0';
    return 0;
}

/* The routes that change the server (models loaded, unloaded, reloaded): restricted_api
 * applies to these, whatever their method. A new management route is marked here. */
static const bool CHANGES_SERVER[] = {
    [F8D_ROUTE_RELOAD] = true,
    [F8D_ROUTE_REPO_LOAD] = true,
    [F8D_ROUTE_REPO_UNLOAD] = true,
};

static int with_method(struct f8d_route *out, enum f8d_route_kind kind, int allowed,
                       const char *allow)
{
    out->kind = kind;
    out->allow = allow;
    out->changes_server = (size_t)kind < sizeof(CHANGES_SERVER) / sizeof(CHANGES_SERVER[0]) &&
                          CHANGES_SERVER[kind];
    return allowed ? 0 : 405;
}

/* After "/v2/models/": NAME, NAME/ready, NAME/infer, NAME/versions/V[/ready|/infer]. */
static int model_route(const char *method, const char *rest, struct f8d_route *out)
{
    const char *slash = strchr(rest, '/');
    size_t name_len = slash ? (size_t)(slash - rest) : strlen(rest);
    if (take_name(rest, name_len, out) != 0)
        return 404;
    const char *tail = slash ? slash : "";
    static const char versions[] = "/versions/";
    if (strncmp(tail, versions, sizeof(versions) - 1) == 0) {
        const char *v = tail + sizeof(versions) - 1;
        size_t vlen = strcspn(v, "/");
        if (vlen == 0 || vlen >= sizeof(out->version))
            return 404;
        memcpy(out->version, v, vlen);
        out->version[vlen] = '\0';
        tail = v + vlen;
    }
    if (*tail == '\0')
        return with_method(out, F8D_ROUTE_MODEL_META, is_get(method), ALLOW_GET);
    if (strcmp(tail, "/ready") == 0)
        return with_method(out, F8D_ROUTE_MODEL_READY, is_get(method), ALLOW_GET);
    if (strcmp(tail, "/infer") == 0)
        return with_method(out, F8D_ROUTE_INFER, strcmp(method, "POST") == 0, ALLOW_INFER);
    out->model[0] = '\0';
    return 404;
}

/* After "/v2/repository/models/": NAME/load, NAME/unload (Triton's repository extension). */
static int repository_route(const char *method, const char *rest, struct f8d_route *out)
{
    const char *slash = strchr(rest, '/');
    if (slash == NULL || slash == rest || (size_t)(slash - rest) > F8D_MODEL_NAME_MAX)
        return 404;
    enum f8d_route_kind kind;
    if (strcmp(slash, "/load") == 0)
        kind = F8D_ROUTE_REPO_LOAD;
    else if (strcmp(slash, "/unload") == 0)
        kind = F8D_ROUTE_REPO_UNLOAD;
    else
        return 404;
    memcpy(out->entry, rest, (size_t)(slash - rest));
    out->entry[slash - rest] = '\0';
    return with_method(out, kind, strcmp(method, "POST") == 0, ALLOW_INFER);
}

int f8d_route_parse(const char *method, const char *path, struct f8d_route *out)
{
    static const char predictions[] = "/predictions/";
    static const char models[] = "/v2/models/";
    static const char repo_models[] = "/v2/repository/models/";

    memset(out, 0, sizeof(*out));
    if (method == NULL || path == NULL)
        return 404;

    if (strncmp(path, predictions, sizeof(predictions) - 1) == 0) {
        const char *name = path + sizeof(predictions) - 1;
        if (take_name(name, strlen(name), out) != 0)
            return 404;
        return with_method(out, F8D_ROUTE_PREDICT, is_post(method), ALLOW_PREDICT);
    }
    if (strcmp(path, "/") == 0)
        return with_method(out, F8D_ROUTE_DEMO, is_get(method), ALLOW_GET);
    if (strcmp(path, "/v2") == 0)
        return with_method(out, F8D_ROUTE_SERVER_META, is_get(method), ALLOW_GET);
    if (strcmp(path, "/v2/health/live") == 0)
        return with_method(out, F8D_ROUTE_LIVE, is_get(method), ALLOW_GET);
    if (strcmp(path, "/v2/health/ready") == 0)
        return with_method(out, F8D_ROUTE_READY, is_get(method), ALLOW_GET);
    if (strcmp(path, "/metrics") == 0)
        return with_method(out, F8D_ROUTE_METRICS, is_get(method), ALLOW_GET);
    if (strcmp(path, "/v2/repository/reload") == 0)
        return with_method(out, F8D_ROUTE_RELOAD, strcmp(method, "POST") == 0, ALLOW_INFER);
    if (strcmp(path, "/v2/repository/index") == 0)
        return with_method(out, F8D_ROUTE_REPO_INDEX,
                           strcmp(method, "POST") == 0 || is_get(method), ALLOW_INDEX);
    if (strncmp(path, models, sizeof(models) - 1) == 0)
        return model_route(method, path + sizeof(models) - 1, out);
    if (strncmp(path, repo_models, sizeof(repo_models) - 1) == 0)
        return repository_route(method, path + sizeof(repo_models) - 1, out);
    return 404;
}

int f8d_parse_top_k(const char *value, uint32_t num_classes, uint32_t *out)
{
    if (value == NULL) {
        *out = num_classes < F8D_DEFAULT_TOP_K ? num_classes : F8D_DEFAULT_TOP_K;
        return 0;
    }
    if (*value == '\0')
        return -1;
    uint64_t v = 0;
    for (const char *p = value; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > num_classes)
            return -1;
    }
    if (v < 1)
        return -1;
    *out = (uint32_t)v;
    return 0;
}
