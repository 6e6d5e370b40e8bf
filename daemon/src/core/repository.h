/*
 * f8d model repository: what changes the set of models served, one change at a time, and
 * what the repository index says of each model.
 *
 *   reload   (SIGHUP, POST /v2/repository/reload)  every model of the directory, each on its
 *            own: one that does not load is listed UNAVAILABLE with its reason (or, when an
 *            older version of it is being served, that one keeps serving and the index says
 *            why the new one did not load); the others load and serve.
 *   load     (POST /v2/repository/models/NAME/load)  NAME.f8 loaded (again), replacing the
 *            version served; if it does not load, the served version (if any) stays.
 *   unload   (POST /v2/repository/models/NAME/unload)  NAME no longer served (requests already
 *            received finish on it); the index lists it UNAVAILABLE, "unloaded".
 *
 * Loading happens on the background pool (background.h); the swap of the registry on the loop
 * thread. Changes queue behind the one running (two reloads asked meanwhile run once).
 * Loop thread only.
 */
#ifndef F8D_REPOSITORY_H
#define F8D_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

struct f8d_server;
struct f8d_request;

/* Queues a change. `waiter` (may be NULL) has its on_done called when the change is done,
 * with err set when it failed: F8D_ENOTFOUND (no such model), F8D_ELOAD (with the reasons),
 * F8D_ESHUTDOWN. Returns F8D_OK, or F8D_ESHUTDOWN when the server is stopping (the waiter is
 * not called). */
int f8d_server_load_model(struct f8d_server *s, const char *name, struct f8d_request *waiter);
int f8d_server_unload_model(struct f8d_server *s, const char *name,
                            struct f8d_request *waiter);
/* (f8d_server_reload is declared in server.h.) */

/* One line of the index. */
struct f8d_repo_entry {
    const char *name;
    const char *version; /* the version served, or "1" when none is */
    bool ready;          /* served */
    const char *reason;  /* "" when ready and nothing to say */
};

/* Calls fn for every model the repository knows (served, failed to load, unloaded), by name. */
void f8d_repository_each(const struct f8d_server *s,
                         void (*fn)(const struct f8d_repo_entry *e, void *arg), void *arg);

/* The served models, one log line each (at start and after each change). */
void f8d_repository_log_models(const struct f8d_server *s);

/* Frees the index's list (at the end; nothing may be queued). */
void f8d_repository_free(struct f8d_server *s);

#endif /* F8D_REPOSITORY_H */
