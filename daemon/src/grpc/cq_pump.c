/* f8d gRPC completion-queue pump (cq_pump.h). */
#include "cq_pump.h"

#include <assert.h>
#include <stddef.h>

#include "grpc_call.h"

static void pump_thread(void *arg)
{
    struct f8d_cq_pump *p = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(p->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
                                                   NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue; /* GRPC_QUEUE_TIMEOUT cannot happen with an infinite deadline */
        struct f8d_grpc_tag *t = ev.tag;
        t->success = ev.success != 0;
        t->next = NULL;
        if (t->kind == F8D_TAG_NEW && t->success)
            p->unpack(t);
        uv_mutex_lock(&p->lock);
        if (p->tail != NULL)
            p->tail->next = t;
        else
            p->head = t;
        p->tail = t;
        uv_cond_signal(&p->arrived);
        uv_mutex_unlock(&p->lock);
        uv_async_send(&p->async);
    }
}

/* Hands every queued event to on_event, oldest first. Loop thread. */
static void drain(struct f8d_cq_pump *p)
{
    uv_mutex_lock(&p->lock);
    struct f8d_grpc_tag *t = p->head;
    p->head = p->tail = NULL;
    uv_mutex_unlock(&p->lock);
    while (t != NULL) {
        struct f8d_grpc_tag *next = t->next; /* on_event may free t's call */
        t->next = NULL;
        p->on_event(t, p->arg);
        t = next;
    }
}

static void on_async(uv_async_t *a)
{
    drain((struct f8d_cq_pump *)((char *)a - offsetof(struct f8d_cq_pump, async)));
}

int f8d_cq_pump_init(struct f8d_cq_pump *p, uv_loop_t *loop, f8d_cq_event_cb on_event,
                     f8d_cq_unpack_cb unpack, void *arg)
{
    p->on_event = on_event;
    p->unpack = unpack;
    p->arg = arg;
    p->head = p->tail = NULL;
    if (uv_mutex_init(&p->lock) != 0)
        return -1;
    if (uv_cond_init(&p->arrived) != 0) {
        uv_mutex_destroy(&p->lock);
        return -1;
    }
    p->cq = grpc_completion_queue_create_for_next(NULL);
    if (p->cq == NULL) {
        uv_cond_destroy(&p->arrived);
        uv_mutex_destroy(&p->lock);
        return -1;
    }
    if (uv_async_init(loop, &p->async, on_async) != 0)
        return -1; /* f8d_cq_pump_close frees the queue */
    p->async.data = arg;
    p->async_open = true;
    return 0;
}

int f8d_cq_pump_run(struct f8d_cq_pump *p)
{
    assert(!p->thread_running);
    if (uv_thread_create(&p->thread, pump_thread, p) != 0)
        return -1;
    p->thread_running = true;
    return 0;
}

void f8d_cq_pump_wait(struct f8d_cq_pump *p)
{
    uv_mutex_lock(&p->lock);
    while (p->head == NULL)
        uv_cond_wait(&p->arrived, &p->lock);
    uv_mutex_unlock(&p->lock);
    drain(p);
}

void f8d_cq_pump_close(struct f8d_cq_pump *p, uv_close_cb closed)
{
    if (p->cq != NULL) {
        grpc_completion_queue_shutdown(p->cq);
        if (p->thread_running) {
            uv_thread_join(&p->thread);
            p->thread_running = false;
        } else {
            /* never started: drain the queue here until it reports its shutdown */
            while (grpc_completion_queue_next(p->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL)
                       .type != GRPC_QUEUE_SHUTDOWN)
                ;
        }
        drain(p);
        grpc_completion_queue_destroy(p->cq);
        p->cq = NULL;
        uv_cond_destroy(&p->arrived);
        uv_mutex_destroy(&p->lock);
    }
    if (p->async_open) {
        p->async_open = false;
        uv_close((uv_handle_t *)&p->async, closed);
    }
}
