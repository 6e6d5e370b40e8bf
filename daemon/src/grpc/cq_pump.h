/*
 * f8d gRPC completion-queue pump: the one thread that waits on gRPC's completion queue and
 * hands each finished operation to the loop thread (a locked list and uv_async_send), so
 * that the loop never blocks on gRPC and the calls' state is touched on the loop only.
 *
 * Before handing over a new call, the pump unpacks its request message (the work that grows
 * with the message; pure, on memory the loop does not touch until the hand-over). The loop
 * gets the events in the order the queue gave them.
 */
#ifndef F8D_CQ_PUMP_H
#define F8D_CQ_PUMP_H

#include <stdbool.h>
#include <grpc/grpc.h>
#include <uv.h>

struct f8d_grpc_tag;

typedef void (*f8d_cq_event_cb)(struct f8d_grpc_tag *tag, void *arg);
typedef void (*f8d_cq_unpack_cb)(struct f8d_grpc_tag *tag);

struct f8d_cq_pump {
    grpc_completion_queue *cq;
    uv_thread_t thread;
    bool thread_running;
    uv_mutex_t lock;
    uv_cond_t arrived;          /* signalled with each event (f8d_cq_pump_wait) */
    struct f8d_grpc_tag *head, *tail; /* events for the loop, oldest first */
    uv_async_t async;
    bool async_open;
    f8d_cq_event_cb on_event;   /* loop thread */
    f8d_cq_unpack_cb unpack;    /* pump thread */
    void *arg;
};

/* Creates the completion queue and the loop's async handle (its close callback gets
 * `closed`; the handle's data is `arg`). The thread starts with f8d_cq_pump_run. */
int f8d_cq_pump_init(struct f8d_cq_pump *p, uv_loop_t *loop, f8d_cq_event_cb on_event,
                     f8d_cq_unpack_cb unpack, void *arg);
int f8d_cq_pump_run(struct f8d_cq_pump *p);

/* Stop time, on the loop thread: waits until at least one event is there and handles every
 * event there (the loop cannot run the async callback while it is busy stopping). */
void f8d_cq_pump_wait(struct f8d_cq_pump *p);

/* Shuts the queue down, joins the thread (it exits once the queue is drained), handles the
 * last events, destroys the queue and closes the async handle. Every call and the server
 * must be gone by then. */
void f8d_cq_pump_close(struct f8d_cq_pump *p, uv_close_cb closed);

#endif /* F8D_CQ_PUMP_H */
