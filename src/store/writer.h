/*
 * writer.h - the ingest writer: one thread that commits span batches for all requests, many
 * batches per transaction (group commit), and tells each request when its batch is durable.
 *
 * Handlers never write spans themselves: they submit a job and wait (suspended). Because one
 * transaction carries the batches of every request that arrived while the previous commit ran,
 * the cost of a commit is shared, and throughput grows with load instead of collapsing.
 */
#ifndef VT_WRITER_H
#define VT_WRITER_H

#include "store.h"

typedef struct vt_writer vt_writer_t;
typedef struct vt_write_job vt_write_job_t;

/* Called on the writer thread once the job's batch is committed (err == VT_OK, and the batch's
 * inserted/duplicates outputs are filled) or has failed. The job's memory belongs to the
 * submitter, who may free it from here on. */
typedef void (*vt_write_done_fn)(vt_write_job_t *job, vt_err_t err);

struct vt_write_job {
    vt_span_batch_t batch;
    vt_write_done_fn done;
    void *ud;               /* for the submitter */
    vt_write_job_t *next;   /* queue link, owned by the writer while queued */
};

typedef struct {
    size_t max_queued_spans;   /* submit answers VT_EUNAVAIL beyond this many waiting spans */
    size_t max_spans_per_txn;  /* a transaction takes jobs until it holds this many spans */
} vt_writer_config_t;

/* Starts the writer thread. */
vt_err_t vt_writer_start(vt_store_t *store, const vt_writer_config_t *cfg, vt_writer_t **out);
/* Queues a job. VT_EUNAVAIL when the queue is full or the writer is stopping; the job is then
 * not queued and done will not be called. */
vt_err_t vt_writer_submit(vt_writer_t *w, vt_write_job_t *job);
/* Commits everything queued, then stops the thread and frees the writer. */
void vt_writer_stop(vt_writer_t *w);

#endif
