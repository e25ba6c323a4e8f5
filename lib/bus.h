/* bus — a thread-safe event bus whose subscribers are held by weak handles.
 *
 * A subscriber registers for one topic (a 64-bit key the caller picks: an
 * object's incarnation, an event kind) with a priority, an optional filter
 * predicate and a callback, and gets back a handle. mk_bus_publish(topic,
 * event) calls that topic's live subscribers in priority order (higher
 * first; equal priorities in the order they subscribed), skipping those
 * whose filter says no.
 *
 * Weak holding: the bus never owns a subscriber (the `sub` pointer). When
 * the subscriber object goes away its owner calls mk_bus_destroyed(handle):
 * from then on it is never called, and the bus drops its entry by itself,
 * on the next publish to that topic or at mk_bus_cleanup() ("dead
 * subscribers are removed automatically"); both count what they drop.
 * Handles are generation-checked: a stale handle (unsubscribed, destroyed,
 * its slot reused) is recognised and ignored, never confused with a newer
 * subscriber.
 *
 * Guarantee across threads: once mk_bus_unsubscribe() or mk_bus_destroyed()
 * returns, the subscriber's callback and filter are not running and will
 * not run again (the call waits for a callback in progress on another
 * thread). A callback may itself subscribe, unsubscribe, destroy (itself
 * too) and publish: callbacks run without the bus lock held, on a snapshot
 * of the topic's subscribers taken at publish time, so a subscriber added
 * during a publish is first called by the next one.
 *
 * Ownership: the bus owns its slots (allocated in fixed chunks that never
 * move, at most MK_BUS_MAX subscribers at once) and nothing else. Events are
 * passed through untouched. mk_bus_free() must not race with other calls.
 *
 * Cost: subscribe is O(subscribers of the topic) (sorted insert); publish is
 * O(subscribers of the topic) plus one mutex round trip; the callbacks run
 * with no allocation for up to 64 subscribers a topic. */
#ifndef MK_BUS_H
#define MK_BUS_H

#include <stddef.h>
#include <stdint.h>

typedef struct mk_bus mk_bus;
typedef uint64_t mk_bus_handle;     /* 0 is never a handle */

enum { MK_BUS_MAX = 1 << 24 };

/* The callback, and the filter (nonzero = call it). `sub` is the pointer
 * given at subscribe time. */
typedef void (*mk_bus_fn)(void *sub, uint64_t topic, const void *event);
typedef int (*mk_bus_filter)(void *sub, uint64_t topic, const void *event);

typedef struct {
    uint64_t subscribed;    /* subscribe calls that succeeded */
    uint64_t live;          /* subscribers now registered and not destroyed */
    uint64_t calls;         /* callbacks run */
    uint64_t filtered;      /* callbacks skipped by their filter */
    uint64_t dropped_dead;  /* destroyed subscribers removed (publish, cleanup, close) */
} mk_bus_stats;

mk_bus *mk_bus_new(void);
void mk_bus_free(mk_bus *b);

/* 0 (with mk_err set) when MK_BUS_MAX subscribers exist; fn is required,
 * filter may be NULL. */
mk_bus_handle mk_bus_subscribe(mk_bus *b, uint64_t topic, int prio, mk_bus_fn fn,
                               mk_bus_filter filter, void *sub);
/* Remove a subscriber now: 1, or 0 if the handle is stale. */
int mk_bus_unsubscribe(mk_bus *b, mk_bus_handle h);
/* The subscriber object is gone: never call it again; the entry is dropped
 * lazily. 1, or 0 if the handle is stale. */
int mk_bus_destroyed(mk_bus *b, mk_bus_handle h);
/* Whether the handle names a registered, not destroyed subscriber. */
int mk_bus_alive(mk_bus *b, mk_bus_handle h);

/* Call the topic's subscribers; returns how many callbacks ran. Dead
 * subscribers met on the way are removed. */
size_t mk_bus_publish(mk_bus *b, uint64_t topic, const void *event);
/* Remove every subscriber of the topic (the topic will never be published
 * again); returns how many live ones were removed. */
size_t mk_bus_close(mk_bus *b, uint64_t topic);
/* Remove every destroyed subscriber; returns how many. */
size_t mk_bus_cleanup(mk_bus *b);

void mk_bus_get_stats(mk_bus *b, mk_bus_stats *st);

#endif
