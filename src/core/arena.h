/*
 * arena.h - a bump allocator for everything that lives as long as one request (decoded spans,
 * response text) or one batch. Memory comes in chunks from malloc and is released all at once.
 * Each arena has a cap on its total size, so hostile input cannot grow it without bound.
 */
#ifndef VT_ARENA_H
#define VT_ARENA_H

#include "vt.h"

typedef struct vt_arena_chunk vt_arena_chunk_t;

typedef struct {
    vt_arena_chunk_t *head; /* newest chunk; older ones are linked behind it */
    size_t used_total;      /* bytes handed out plus chunk overheads, checked against cap */
    size_t cap;             /* maximum of used_total; 0 means no cap */
    bool failed;            /* set once an allocation failed, so callers can check once at the end */
} vt_arena_t;

/* Initialises an empty arena with a cap in bytes (0 = unlimited). Allocates nothing yet. */
void vt_arena_init(vt_arena_t *a, size_t cap);
/* Frees every chunk. The arena may be reused after vt_arena_init. */
void vt_arena_free(vt_arena_t *a);
/* Returns n bytes aligned for any type, or NULL when the cap is reached or malloc fails
 * (and sets a->failed). The memory is not zeroed. */
void *vt_arena_alloc(vt_arena_t *a, size_t n);
/* Like vt_arena_alloc but zeroed; checks count*size for overflow. */
void *vt_arena_calloc(vt_arena_t *a, size_t count, size_t size);
/* Copies n bytes into the arena and NUL-terminates the copy. NULL on failure. */
char *vt_arena_strndup(vt_arena_t *a, const char *s, size_t n);
/* Copies a sized string into the arena (NUL-terminated); returns a string of length 0 on failure. */
vt_str_t vt_arena_str(vt_arena_t *a, vt_str_t s);
/* printf into the arena. NULL on failure. */
char *vt_arena_printf(vt_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
