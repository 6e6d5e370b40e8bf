/*
 * Model repository (KServe v2 / Triton's repository extension):
 *   GET|POST /v2/repository/index       [{"name","version":"1","state","reason"}] for each model
 *                                       the repository knows: READY (served; a reason when its
 *                                       newer version did not load), UNAVAILABLE (did not load,
 *                                       or unloaded: the reason says which)
 *   POST /v2/repository/models/M/load   loads M.f8 (again): 200 {} once M serves; 404 when the
 *                                       directory has no M.f8; 500 with the engine's reason when
 *                                       it does not load (a version already served stays)
 *   POST /v2/repository/models/M/unload M no longer served: 200 {}; 404 for an unknown model
 *   POST /v2/repository/reload          every model of the directory, each on its own, as
 *                                       SIGHUP: 200 {"models":[index]} when all loaded, 500
 *                                       naming those that did not (the others serve)
 * The changes (not the index) need the restricted_api header when one is set. Each is done on
 * the background pool, one after another (core/repository.h); the connection waits suspended.
 */
#include "core/errors.h"
#include "core/repository.h"
#include "core/server.h"
#include "handlers.h"
#include "json_reply.h"

static void add_entry(const struct f8d_repo_entry *e, void *arg)
{
    json_array_append_new(arg, json_pack("{s:o, s:s, s:s, s:o}", "name", f8d_json_string(e->name),
                                         "version", e->version, "state",
                                         e->ready ? "READY" : "UNAVAILABLE", "reason",
                                         f8d_json_string(e->reason)));
}

static json_t *index_of(const struct f8d_server *s)
{
    json_t *list = json_array();
    if (list != NULL)
        f8d_repository_each(s, add_entry, list);
    return list;
}

enum MHD_Result f8d_repository_finish(struct f8d_http_request *req)
{
    struct f8d_server *s = req->server;
    enum f8d_route_kind kind = req->route.kind;
    if (kind == F8D_ROUTE_REPO_INDEX)
        return f8d_reply_json(req, 200, index_of(s));
    if (req->phase == F8D_PHASE_DONE) {
        if (req->core.err.code != F8D_OK)
            return f8d_reply_failure(req);
        if (kind == F8D_ROUTE_RELOAD)
            return f8d_reply_json(req, 200, json_pack("{s:o}", "models", index_of(s)));
        return f8d_reply_json(req, 200, json_object());
    }
    if (req->phase != F8D_PHASE_BODY)
        return MHD_YES;
    int rc = kind == F8D_ROUTE_RELOAD ? f8d_server_reload(s, &req->core)
             : kind == F8D_ROUTE_REPO_LOAD
                 ? f8d_server_load_model(s, req->route.entry, &req->core)
                 : f8d_server_unload_model(s, req->route.entry, &req->core);
    if (rc != F8D_OK)
        return f8d_reply_error(req, rc, "%s", rc == F8D_ESHUTDOWN ? "the server is shutting down"
                                                                 : "out of memory");
    req->phase = F8D_PHASE_QUEUED;
    f8d_http_suspend(req); /* resumed by the change's completion */
    return MHD_YES;
}
