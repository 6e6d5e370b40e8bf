/* f8d model repository: reload, load, unload, one at a time; the index (repository.h). */
#include "repository.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "background.h"
#include "errors.h"
#include "log.h"
#include "request.h"
#include "server.h"

enum job_kind { JOB_RELOAD, JOB_LOAD, JOB_UNLOAD };

struct f8d_reload {
    struct f8d_bg_job work;
    struct f8d_server *server;
    enum job_kind kind;
    char name[256];               /* LOAD, UNLOAD */
    char dir[F8D_PATH_MAX];
    unsigned n_workers;
    struct f8d_models models;     /* RELOAD: the new set (not attached until swapped in) */
    struct f8d_load_faults faults; /* RELOAD: the models that did not load */
    struct f8d_model *model;      /* LOAD: the new model (not attached) */
    int rc;                       /* F8D_OK or F8D_E* */
    char err[1024];
    struct f8d_request *waiters;  /* told when the change is done (next_waiter list) */
    struct f8d_reload *next;      /* the queue */
};

static const char *kind_name(enum job_kind k)
{
    return k == JOB_RELOAD ? "reload" : k == JOB_LOAD ? "load" : "unload";
}

/* ---- the index: models not served, or whose last load failed --------------------------- */

static struct f8d_load_fault *fault_of(struct f8d_server *s, const char *name)
{
    for (size_t i = 0; i < s->unavailable.count; i++)
        if (strcmp(s->unavailable.items[i].name, name) == 0)
            return &s->unavailable.items[i];
    return NULL;
}

static void forget_fault(struct f8d_server *s, const char *name)
{
    struct f8d_load_fault *f = fault_of(s, name);
    if (f == NULL)
        return;
    size_t i = (size_t)(f - s->unavailable.items);
    memmove(f, f + 1, (s->unavailable.count - i - 1) * sizeof(*f));
    s->unavailable.count--;
}

/* Records why name is not served (or why its new version is not); kept sorted by name. */
static void note_fault(struct f8d_server *s, const char *name, const char *reason)
{
    struct f8d_load_fault *f = fault_of(s, name);
    if (f == NULL) {
        struct f8d_load_fault *grown = realloc(s->unavailable.items,
                                               (s->unavailable.count + 1) * sizeof(*grown));
        if (grown == NULL)
            return; /* the index misses a reason; the log has it */
        s->unavailable.items = grown;
        size_t at = 0;
        while (at < s->unavailable.count && strcmp(grown[at].name, name) < 0)
            at++;
        memmove(&grown[at + 1], &grown[at], (s->unavailable.count - at) * sizeof(*grown));
        s->unavailable.count++;
        f = &grown[at];
        snprintf(f->name, sizeof(f->name), "%s", name);
    }
    snprintf(f->reason, sizeof(f->reason), "%s", reason);
}

void f8d_repository_each(const struct f8d_server *s,
                         void (*fn)(const struct f8d_repo_entry *e, void *arg), void *arg)
{
    /* both lists are sorted by name: merge them */
    size_t i = 0, j = 0;
    const struct f8d_models *m = &s->models;
    const struct f8d_load_faults *u = &s->unavailable;
    while (i < m->count || j < u->count) {
        int c = i == m->count ? 1 : j == u->count ? -1
                                                  : strcmp(m->items[i]->name, u->items[j].name);
        struct f8d_repo_entry e;
        if (c < 0) {
            e = (struct f8d_repo_entry){m->items[i]->name, m->items[i]->version, true, ""};
            i++;
        } else if (c == 0) { /* served, but its newer version did not load */
            e = (struct f8d_repo_entry){m->items[i]->name, m->items[i]->version, true,
                                        u->items[j++].reason};
            i++;
        } else {
            e = (struct f8d_repo_entry){u->items[j].name, "1", false, u->items[j].reason};
            j++;
        }
        fn(&e, arg);
    }
}

void f8d_repository_log_models(const struct f8d_server *s)
{
    for (size_t i = 0; i < s->models.count; i++) {
        const struct f8d_model *m = s->models.items[i];
        const f8_model_info *info = m->info;
        f8d_log("model %s: %s, input %" PRIu32 "x%" PRIu32 "x%" PRIu32 ", %" PRIu32
                " classes, %" PRIu32 " ops, %" PRIu64 " bytes; batches of up to %u on %u of %u "
                "worker(s), %u engine thread(s) each (%s), arena %zu bytes, queue %u",
                m->name, m->path, info->input_h, info->input_w, info->input_c,
                info->num_classes, info->num_ops, info->file_size, m->cfg.max_batch_size,
                m->batcher.max_running, s->pool.n_workers,
                m->cfg.engine_threads ? m->cfg.engine_threads : 1, f8_isa_name(m->isa),
                m->arena_bytes, m->cfg.max_queue);
    }
}

void f8d_repository_free(struct f8d_server *s)
{
    assert(s->reload == NULL && s->jobs == NULL);
    f8d_load_faults_free(&s->unavailable);
}

/* ---- changes ----------------------------------------------------------------------------- */

/* Swaps in a new registry (models not yet attached are attached): the old one's models are
 * freed when their last request ends. Returns F8D_OK or F8D_ENOMEM (nothing changed). */
static int swap_in(struct f8d_server *s, struct f8d_models *next)
{
    if (f8d_models_attach(next, &s->pool, &s->metrics) != 0) {
        f8d_models_release(next);
        return F8D_ENOMEM;
    }
    struct f8d_models old = s->models;
    s->models = *next; /* new requests see the new set from now on */
    f8d_models_release(&old);
    return F8D_OK;
}

static void job_work(struct f8d_bg_job *w)
{
    struct f8d_reload *j = w->data;
    const struct f8d_server *s = j->server; /* opts: immutable once serving */
    if (j->kind == JOB_RELOAD) {
        /* s->models is read, not changed, meanwhile: only jobs change it, one at a time */
        j->rc = f8d_models_load_each(&j->models, j->dir, &s->opts, j->n_workers, &s->models,
                                     &j->faults, j->err, sizeof(j->err)) == 0 ? F8D_OK
                                                                             : F8D_ELOAD;
    } else if (j->kind == JOB_LOAD) {
        j->rc = f8d_models_load_one(&j->model, j->dir, j->name, &s->opts, j->n_workers, j->err,
                                    sizeof(j->err));
    }
}

/* Puts m into set, sorted by name; the set takes over one reference (the caller's). Returns
 * 0, or -1 when out of memory (the reference stays the caller's). */
static int insert_sorted(struct f8d_models *set, struct f8d_model *m)
{
    struct f8d_model **grown = realloc(set->items, (set->count + 1) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    set->items = grown;
    size_t at = 0;
    while (at < set->count && strcmp(grown[at]->name, m->name) < 0)
        at++;
    memmove(&grown[at + 1], &grown[at], (set->count - at) * sizeof(*grown));
    grown[at] = m;
    set->count++;
    return 0;
}

/* Every model of the directory that loaded, plus the version served before of each one that
 * did not; j->err lists those. */
static int apply_reload(struct f8d_server *s, struct f8d_reload *j)
{
    struct f8d_models next = j->models;
    memset(&j->models, 0, sizeof(j->models));
    size_t used = 0;
    j->err[0] = '\0';
    for (size_t i = 0; i < j->faults.count; i++) {
        const struct f8d_load_fault *f = &j->faults.items[i];
        struct f8d_model *old = f8d_models_find(&s->models, f->name);
        f8d_log("reload: model %s did not load%s: %s", f->name,
                old ? " (the version loaded before keeps serving)" : "", f->reason);
        if (old != NULL) {
            f8d_model_ref(old);
            if (insert_sorted(&next, old) != 0)
                f8d_model_unref(old); /* out of memory: that model stops being served */
        }
        if (used < sizeof(j->err))
            used += (size_t)snprintf(j->err + used, sizeof(j->err) - used, "%smodel %s: %s",
                                     i ? "; " : "", f->name, f->reason);
    }
    int rc = swap_in(s, &next);
    if (rc != F8D_OK)
        return rc;
    /* the index: exactly this reload's faults (an unloaded model the directory still holds is
     * served again) */
    s->unavailable.count = 0;
    for (size_t i = 0; i < j->faults.count; i++)
        note_fault(s, j->faults.items[i].name, j->faults.items[i].reason);
    return j->faults.count > 0 ? F8D_ELOAD : F8D_OK;
}

static int apply_load(struct f8d_server *s, struct f8d_reload *j)
{
    if (j->rc == F8D_ELOAD) {
        bool served = f8d_models_find(&s->models, j->name) != NULL;
        f8d_log("load: model %s did not load%s: %s", j->name,
                served ? " (the version loaded before keeps serving)" : "", j->err);
        note_fault(s, j->name, j->err);
    }
    if (j->rc != F8D_OK)
        return j->rc;
    struct f8d_models next;
    if (f8d_models_merge(&s->models, j->model, NULL, &next) != 0)
        return F8D_ENOMEM;
    j->model = NULL; /* the new registry holds it */
    int rc = swap_in(s, &next);
    if (rc == F8D_OK) {
        forget_fault(s, j->name);
        f8d_log("load: model %s loaded", j->name);
    }
    return rc;
}

static int apply_unload(struct f8d_server *s, struct f8d_reload *j)
{
    if (f8d_models_find(&s->models, j->name) == NULL) {
        if (fault_of(s, j->name) != NULL)
            return F8D_OK; /* not served already */
        snprintf(j->err, sizeof(j->err), "no model '%s' is loaded", j->name);
        return F8D_ENOTFOUND;
    }
    struct f8d_models next;
    if (f8d_models_merge(&s->models, NULL, j->name, &next) != 0)
        return F8D_ENOMEM;
    int rc = swap_in(s, &next);
    if (rc == F8D_OK) {
        note_fault(s, j->name, "unloaded");
        f8d_log("unload: model %s is no longer served (requests it holds finish)", j->name);
    }
    return rc;
}

static void notify_monotonic(const char *state)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "%s\nMONOTONIC_USEC=%" PRIu64, state,
               (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

/* Completes every request on a change's list (code F8D_OK: it worked; else the message). */
static void tell_waiters(struct f8d_request *waiters, int code, const char *message)
{
    for (struct f8d_request *q = waiters, *next; q != NULL; q = next) {
        next = q->next_waiter;
        q->next_waiter = NULL;
        if (code != F8D_OK)
            f8d_request_fail(q, code, "%s", message);
        q->on_done(q);
    }
}

static void free_job(struct f8d_reload *j)
{
    f8d_models_release(&j->models);
    f8d_load_faults_free(&j->faults);
    if (j->model != NULL)
        f8d_model_destroy(j->model);
    free(j);
}

static void start_next(struct f8d_server *s);

static void job_done(struct f8d_bg_job *w)
{
    struct f8d_reload *j = w->data;
    struct f8d_server *s = j->server;
    s->reload = NULL;
    s->work_in_flight--;
    /* the models a reload kept (their files unchanged) are the served ones: the new set's
     * references, taken here on the loop before any path releases the set */
    size_t kept = 0;
    for (size_t i = 0; i < j->models.count; i++) {
        if (j->models.items[i]->attached) {
            f8d_model_ref(j->models.items[i]);
            kept++;
        }
    }
    int rc = j->rc;
    if (s->stopping) {
        rc = F8D_ESHUTDOWN;
        snprintf(j->err, sizeof(j->err), "the server is shutting down");
    } else if (j->kind == JOB_RELOAD) {
        if (rc == F8D_OK)
            rc = apply_reload(s, j);
        if (rc == F8D_OK || (rc == F8D_ELOAD && j->faults.count > 0))
            f8d_log("reloaded %zu model(s) from %s (%zu unchanged, kept as they were)%s",
                    s->models.count, j->dir, kept, rc == F8D_OK ? "" : "; some did not load");
        else
            f8d_log("reload failed, still serving the previous models: %s", j->err);
        if (rc == F8D_OK)
            s->metrics.reloads_ok++;
        else
            s->metrics.reloads_failed++;
    } else if (j->kind == JOB_LOAD) {
        rc = apply_load(s, j);
    } else {
        rc = apply_unload(s, j);
    }
    if (rc == F8D_ENOMEM)
        snprintf(j->err, sizeof(j->err), "out of memory");
    if (!s->stopping && rc != F8D_ESHUTDOWN && rc != F8D_ENOTFOUND)
        f8d_repository_log_models(s);
    if (j->kind == JOB_RELOAD && !s->stopping)
        sd_notify(0, "READY=1");
    char message[1400];
    if (j->kind == JOB_RELOAD && rc == F8D_ELOAD && j->faults.count > 0)
        snprintf(message, sizeof(message), "reload: %zu model(s) did not load (the others "
                 "did; see /v2/repository/index): %s", j->faults.count, j->err);
    else
        snprintf(message, sizeof(message), "%s%s%s failed: %s", kind_name(j->kind),
                 j->name[0] ? " of " : "", j->name, j->err);
    tell_waiters(j->waiters, rc, message);
    free_job(j);
    start_next(s);
}

static void start_next(struct f8d_server *s)
{
    if (s->reload != NULL || s->jobs == NULL)
        return;
    struct f8d_reload *j = s->jobs;
    s->jobs = j->next;
    j->next = NULL;
    if (s->stopping) { /* what was queued is not done: say so, and the next one too */
        s->reload = j;
        s->work_in_flight++;
        job_done(&j->work);
        return;
    }
    if (j->kind == JOB_RELOAD) {
        notify_monotonic("RELOADING=1");
        f8d_log("reloading models from %s", j->dir);
    }
    s->reload = j;
    s->work_in_flight++;
    /* An unload has nothing to load, but goes through the pool too, so that every change
     * completes after its call returned, in the order asked. */
    f8d_background_queue(&s->background, &j->work, job_work, job_done, j);
}

static int enqueue(struct f8d_server *s, enum job_kind kind, const char *name,
                   struct f8d_request *waiter)
{
    if (s->stopping)
        return F8D_ESHUTDOWN;
    if (waiter != NULL)
        waiter->next_waiter = NULL;
    struct f8d_reload **tail = &s->jobs;
    for (; *tail != NULL; tail = &(*tail)->next) {
        if (kind == JOB_RELOAD && (*tail)->kind == JOB_RELOAD) {
            /* A reload already waits to start: it will read the directory after this call,
             * so it answers this one too. */
            if (waiter != NULL) {
                waiter->next_waiter = (*tail)->waiters;
                (*tail)->waiters = waiter;
            }
            return F8D_OK;
        }
    }
    struct f8d_reload *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        if (waiter != NULL)
            f8d_request_fail(waiter, F8D_ENOMEM, "out of memory");
        return F8D_ENOMEM;
    }
    j->server = s;
    j->work.data = j;
    j->kind = kind;
    j->n_workers = s->pool.n_workers;
    j->waiters = waiter;
    snprintf(j->name, sizeof(j->name), "%s", name ? name : "");
    snprintf(j->dir, sizeof(j->dir), "%s", s->opts.models_dir);
    *tail = j;
    start_next(s);
    return F8D_OK;
}

int f8d_server_reload(struct f8d_server *s, struct f8d_request *waiter)
{
    return enqueue(s, JOB_RELOAD, NULL, waiter);
}

int f8d_server_load_model(struct f8d_server *s, const char *name, struct f8d_request *waiter)
{
    return enqueue(s, JOB_LOAD, name, waiter);
}

int f8d_server_unload_model(struct f8d_server *s, const char *name, struct f8d_request *waiter)
{
    return enqueue(s, JOB_UNLOAD, name, waiter);
}
