/*
 * writer.c - the group-commit writer thread.
 *
 * The queue is a singly linked list under one mutex. The thread takes as many jobs as fit one
 * transaction, writes them with spans_write, and calls each job's done callback. When a combined
 * transaction fails, each job of it is retried alone, so one bad batch cannot fail the others.
 */
#include "writer.h"

#include <pthread.h>
#include <stdlib.h>

#include "../core/log.h"

struct vt_writer {
    vt_store_t *store;
    vt_writer_config_t cfg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    vt_write_job_t *head, *tail; /* waiting jobs, oldest first */
    size_t queued_spans;
    bool stopping;
};

static void write_group(vt_writer_t *w, vt_write_job_t *jobs, size_t n_jobs) {
    vt_span_batch_t stack_batches[64];
    vt_span_batch_t *batches =
        n_jobs <= VT_ARRAY_LEN(stack_batches) ? stack_batches : malloc(n_jobs * sizeof *batches);
    vt_err_t e = VT_ENOMEM;
    if (batches) {
        size_t i = 0;
        for (vt_write_job_t *j = jobs; j; j = j->next)
            batches[i++] = j->batch;
        e = w->store->ops->spans_write(w->store, batches, n_jobs);
        if (e == VT_OK) {
            i = 0;
            for (vt_write_job_t *j = jobs; j; j = j->next)
                j->batch = batches[i++];
        }
        if (batches != stack_batches)
            free(batches);
    }
    if (e != VT_OK && n_jobs > 1) {
        vt_log_warn("writer: a group of %zu batches failed; writing them one by one", n_jobs);
        vt_write_job_t *j = jobs;
        while (j) {
            vt_write_job_t *next = j->next;
            j->next = NULL;
            write_group(w, j, 1);
            j = next;
        }
        return;
    }
    vt_write_job_t *j = jobs;
    while (j) {
        /* Read next before done: done may free the job. */
        vt_write_job_t *next = j->next;
        j->done(j, e);
        j = next;
    }
}

static void *writer_main(void *arg) {
    vt_writer_t *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->cond, &w->lock);
        if (!w->head && w->stopping)
            break;
        /* Take a run of jobs that fits one transaction (at least one job). */
        vt_write_job_t *first = w->head, *last = first;
        size_t spans = first->batch.n_rows, n = 1;
        while (last->next && spans + last->next->batch.n_rows <= w->cfg.max_spans_per_txn) {
            last = last->next;
            spans += last->batch.n_rows;
            n++;
        }
        w->head = last->next;
        if (!w->head)
            w->tail = NULL;
        last->next = NULL;
        w->queued_spans -= spans;
        pthread_mutex_unlock(&w->lock);
        write_group(w, first, n);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

vt_err_t vt_writer_start(vt_store_t *store, const vt_writer_config_t *cfg, vt_writer_t **out) {
    vt_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return VT_ENOMEM;
    w->store = store;
    w->cfg = *cfg;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
        return VT_EINTERNAL;
    }
    *out = w;
    return VT_OK;
}

vt_err_t vt_writer_submit(vt_writer_t *w, vt_write_job_t *job) {
    pthread_mutex_lock(&w->lock);
    /* An empty queue always takes a job, so a single batch larger than the limit still goes in. */
    if (w->stopping || (w->head && w->queued_spans + job->batch.n_rows > w->cfg.max_queued_spans)) {
        pthread_mutex_unlock(&w->lock);
        return VT_EUNAVAIL;
    }
    job->next = NULL;
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    w->queued_spans += job->batch.n_rows;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return VT_OK;
}

void vt_writer_stop(vt_writer_t *w) {
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}
