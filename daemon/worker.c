/* f8d workers: per-model slot pools and the decode + inference job. */
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scores.h"

int f8d_pool_init(struct f8d_pool *pool)
{
    memset(pool, 0, sizeof(*pool));
    return pthread_mutex_init(&pool->lock, NULL) == 0 ? 0 : F8_ENOMEM;
}

static void slot_free(struct f8d_slot *slot)
{
    if (slot == NULL)
        return;
    if (slot->decoder != NULL)
        f8img_decoder_destroy(slot->decoder);
    if (slot->runner != NULL)
        f8_runner_destroy(slot->runner);
    free(slot->input);
    free(slot);
}

void f8d_pool_destroy(struct f8d_pool *pool)
{
    struct f8d_slot *s = pool->free;
    while (s != NULL) {
        struct f8d_slot *next = s->next;
        slot_free(s);
        s = next;
    }
    pool->free = NULL;
    pthread_mutex_destroy(&pool->lock);
}

static int slot_create(const f8_model *model, struct f8d_slot **out)
{
    const f8_model_info *info = f8_model_get_info(model);
    struct f8d_slot *slot = calloc(1, sizeof(*slot));
    if (slot == NULL)
        return F8_ENOMEM;
    size_t bytes = (size_t)info->input_h * info->input_w * info->input_c;
    slot->input = calloc(bytes ? bytes : 1, 1);
    int rc = slot->input ? 0 : F8_ENOMEM;
    if (rc == 0 && f8img_decoder_create(&slot->decoder) != 0)
        rc = F8_ENOMEM;
    if (rc == 0)
        rc = f8_runner_create(model, 1, &slot->runner);
    if (rc != 0) {
        slot_free(slot);
        return rc;
    }
    *out = slot;
    return 0;
}

int f8d_pool_acquire(struct f8d_pool *pool, const f8_model *model, struct f8d_slot **out)
{
    pthread_mutex_lock(&pool->lock);
    struct f8d_slot *slot = pool->free;
    if (slot != NULL)
        pool->free = slot->next;
    pthread_mutex_unlock(&pool->lock);
    if (slot == NULL) {
        int rc = slot_create(model, &slot);
        if (rc != 0)
            return rc;
        pthread_mutex_lock(&pool->lock);
        pool->created++;
        pthread_mutex_unlock(&pool->lock);
    }
    slot->next = NULL;
    *out = slot;
    return 0;
}

void f8d_pool_release(struct f8d_pool *pool, struct f8d_slot *slot)
{
    pthread_mutex_lock(&pool->lock);
    slot->next = pool->free;
    pool->free = slot;
    pthread_mutex_unlock(&pool->lock);
}

unsigned f8d_decode_status(int err)
{
    switch (err) {
    case F8IMG_OK: return 200;
    case F8IMG_EUNSUPPORTED: /* not a JPEG: a client mistake */
    case F8IMG_EDECODE: return 400;
    case F8IMG_ETOOLARGE: return 413;
    case F8IMG_ENOMEM: return 503;
    default: return 500;
    }
}

static void job_fail(struct f8d_job *job, unsigned status, const char *what, const char *why)
{
    job->status = status;
    if (why != NULL && *why != '\0')
        snprintf(job->error, sizeof(job->error), "%s: %s", what, why);
    else
        snprintf(job->error, sizeof(job->error), "%s", what);
}

void f8d_job_run(struct f8d_job *job)
{
    const f8_model_info *info = f8_model_get_info(job->model);
    struct f8d_slot *slot;
    char err[F8D_ERR_SIZE] = "";

    job->count = 0;
    int rc = f8d_pool_acquire(job->pool, job->model, &slot);
    if (rc != 0) {
        job_fail(job, 503, "cannot prepare a worker", f8_strerror(rc));
        return;
    }
    rc = f8img_decode_to_input(slot->decoder, job->body, job->body_len, info->input_h,
                               info->input_w, info->input_c, job->max_pixels, slot->input, err,
                               sizeof(err));
    if (rc != 0) {
        f8d_pool_release(job->pool, slot);
        /* f8img's message says what is wrong ("not a JPEG: ..."); keep it as it is. */
        job_fail(job, f8d_decode_status(rc), err[0] ? err : f8img_strerror(rc), NULL);
        return;
    }
    rc = f8_run(slot->runner, slot->input, 1, job->logits);
    f8d_pool_release(job->pool, slot);
    if (rc != 0) {
        job_fail(job, 500, "inference failed", f8_strerror(rc));
        return;
    }
    job->count = f8d_scores_top_k(job->logits, info->num_classes, info->output_fl, job->top_k,
                                  job->indices, job->scores);
    job->status = 200;
    job->error[0] = '\0';
}

int f8d_model_warm_up(const f8_model *model, struct f8d_pool *pool)
{
    const f8_model_info *info = f8_model_get_info(model);
    struct f8d_slot *slot;
    int rc = f8d_pool_acquire(pool, model, &slot);
    if (rc != 0)
        return rc;
    int32_t *logits = calloc(info->num_classes ? info->num_classes : 1, sizeof(*logits));
    if (logits == NULL) {
        rc = F8_ENOMEM;
    } else {
        size_t bytes = (size_t)info->input_h * info->input_w * info->input_c;
        memset(slot->input, 0, bytes);
        rc = f8_run(slot->runner, slot->input, 1, logits);
    }
    free(logits);
    f8d_pool_release(pool, slot);
    return rc;
}
