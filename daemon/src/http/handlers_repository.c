/*
 * Model repository (KServe v2's repository extension, in part):
 *   POST /v2/repository/reload   reloads the models directory, as SIGHUP does, and answers
 *                                when done: 200 {"models":[{"name","state":"READY"},...]},
 *                                or 500 {"error"} with the previous models still served
 *   GET|POST /v2/repository/index  {"name","version","state":"READY"} for each model
 */
#include "core/errors.h"
#include "core/server.h"
#include "handlers.h"
#include "json_reply.h"

static json_t *index_of(const struct f8d_server *s)
{
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < s->models.count; i++)
        json_array_append_new(list, json_pack("{s:o, s:s, s:s}", "name",
                                              f8d_json_string(s->models.items[i]->name),
                                              "version", "1", "state", "READY"));
    return list;
}

enum MHD_Result f8d_repository_finish(struct f8d_http_request *req)
{
    struct f8d_server *s = req->server;
    if (req->route.kind == F8D_ROUTE_REPO_INDEX)
        return f8d_reply_json(req, 200, index_of(s));
    if (req->phase == F8D_PHASE_DONE) {
        if (req->core.err.code != F8D_OK)
            return f8d_reply_failure(req);
        return f8d_reply_json(req, 200, json_pack("{s:o}", "models", index_of(s)));
    }
    if (req->phase != F8D_PHASE_BODY)
        return MHD_YES;
    if (f8d_server_reload(s, &req->core) != F8D_OK)
        return f8d_reply_error(req, F8D_ESHUTDOWN, "the server is shutting down");
    req->phase = F8D_PHASE_QUEUED;
    f8d_http_suspend(req); /* resumed by the reload's completion */
    return MHD_YES;
}
