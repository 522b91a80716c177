/*
 * arena.c - bump allocation in chunks. A chunk is at least 64 KiB; a request larger than that
 * gets a chunk of its own, so big allocations waste nothing.
 */
#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define ARENA_CHUNK_MIN (64 * 1024)
#define ARENA_ALIGN 16

struct vt_arena_chunk {
    vt_arena_chunk_t *next;
    size_t size; /* usable bytes in data */
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

void vt_arena_init(vt_arena_t *a, size_t cap) {
    a->head = NULL;
    a->used_total = 0;
    a->cap = cap;
    a->failed = false;
}

void vt_arena_free(vt_arena_t *a) {
    vt_arena_chunk_t *c = a->head;
    while (c) {
        vt_arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

void *vt_arena_alloc(vt_arena_t *a, size_t n) {
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / 2) {
        a->failed = true;
        return NULL;
    }
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    vt_arena_chunk_t *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t size = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;
        /* Near the cap (or under a cap smaller than one chunk), a smaller last chunk lets the
         * arena hand out all of its cap instead of failing while room is left. */
        size_t room = a->cap > a->used_total + sizeof(vt_arena_chunk_t)
                          ? a->cap - a->used_total - sizeof(vt_arena_chunk_t)
                          : 0;
        if (a->cap && size > room && need <= room)
            size = room;
        size_t cost = size + sizeof(vt_arena_chunk_t);
        if (a->cap && a->used_total + cost > a->cap) {
            a->failed = true;
            return NULL;
        }
        vt_arena_chunk_t *nc = malloc(cost);
        if (!nc) {
            a->failed = true;
            return NULL;
        }
        nc->size = size;
        nc->used = 0;
        a->used_total += cost;
        /* A chunk made for one big allocation goes behind the current one, so the space left
         * in the current chunk stays usable for the small allocations that follow. */
        if (c && size == need && c->size - c->used > ARENA_CHUNK_MIN / 8) {
            nc->next = c->next;
            c->next = nc;
            nc->used = need;
            return nc->data;
        }
        nc->next = c;
        a->head = c = nc;
    }
    void *p = c->data + c->used;
    c->used += need;
    return p;
}

void *vt_arena_calloc(vt_arena_t *a, size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) {
        a->failed = true;
        return NULL;
    }
    void *p = vt_arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

char *vt_arena_strndup(vt_arena_t *a, const char *s, size_t n) {
    char *p = vt_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

vt_str_t vt_arena_str(vt_arena_t *a, vt_str_t s) {
    char *p = vt_arena_strndup(a, s.p, s.n);
    return p ? (vt_str_t){p, s.n} : (vt_str_t){"", 0};
}

char *vt_arena_printf(vt_arena_t *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = vt_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
