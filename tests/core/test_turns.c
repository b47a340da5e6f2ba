/* Offline turns: which offline process may launch on a GPU, from their pending work and waits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "gprio/turns.h"

#define MS    GPRIO_NS_PER_MS
#define TURN  (200 * MS)
#define DRAIN (500 * MS)

static uint32_t step(struct gprio_turns *t, struct gprio_turn_cand *c, size_t n, gprio_ns now)
{
	return gprio_turns_step(t, true, c, n, TURN, DRAIN, now);
}

/* Turns begin (at 0, nothing pending): nobody until the drain is seen over, then at 1 ms the
 * lowest key, key 1 of c's. */
static void first_turn(struct gprio_turns *t, struct gprio_turn_cand *c, size_t n)
{
	assert_int_equal(step(t, c, n, 0), GPRIO_TURN_NONE);
	assert_false(gprio_turns_single(t)); /* before the first turn */
	assert_int_equal(step(t, c, n, MS), 2);
	assert_true(gprio_turns_single(t));
}

/* Off, or fewer than two: everyone launches (and nothing is remembered). */
static void one_or_off_is_everyone(void **s)
{
	(void)s;
	struct gprio_turns t = {0};
	struct gprio_turn_cand c[2] = {{.key = 4, .pending = true}, {.key = 9, .pending = true}};
	assert_int_equal(gprio_turns_step(&t, false, c, 2, TURN, DRAIN, MS), GPRIO_TURN_ALL);
	assert_int_equal(step(&t, c, 1, 2 * MS), GPRIO_TURN_ALL);
	assert_int_equal(step(&t, c, 0, 3 * MS), GPRIO_TURN_ALL);
	assert_int_equal(t.given, 0);
}

/* Turns begin with nobody launching until the work queued before them drains; then the lowest
 * key; at the end of a turn, with the other waiting, nobody again until the holder's work has
 * drained; then the other, and around. */
static void turns_drain_then_rotate(void **s)
{
	(void)s;
	struct gprio_turns t = {0};
	struct gprio_turn_cand c[2] = {{.key = 9, .pending = true}, {.key = 4, .pending = true}};
	assert_int_equal(step(&t, c, 2, 0), GPRIO_TURN_NONE);
	assert_int_equal(step(&t, c, 2, 5 * MS), GPRIO_TURN_NONE); /* both still pending */
	c[0].pending = false;
	assert_int_equal(step(&t, c, 2, 10 * MS), GPRIO_TURN_NONE); /* one still pending */
	c[1].pending = false;
	assert_int_equal(step(&t, c, 2, 15 * MS), 5); /* key 4 */
	assert_int_equal(t.given, 1);
	c[1].pending = true; /* it runs */
	c[0].waiting = true; /* the other's launches wait */
	assert_int_equal(step(&t, c, 2, 100 * MS), 5);
	assert_int_equal(step(&t, c, 2, 15 * MS + TURN), GPRIO_TURN_NONE);
	assert_int_equal(step(&t, c, 2, 20 * MS + TURN), GPRIO_TURN_NONE); /* draining */
	c[1].pending = false;
	assert_int_equal(step(&t, c, 2, 25 * MS + TURN), 10); /* key 9 */
	c[0].waiting = false;
	c[0].pending = true;
	c[1].waiting = true;
	assert_int_equal(step(&t, c, 2, 25 * MS + 2 * TURN), GPRIO_TURN_NONE);
	c[0].pending = false;
	assert_int_equal(step(&t, c, 2, 30 * MS + 2 * TURN), 5); /* around */
	assert_int_equal(t.given, 3);
}

/* A turn whose time is up goes on while nobody else waits for one. */
static void nobody_waiting_keeps_the_turn(void **s)
{
	(void)s;
	struct gprio_turns t = {0};
	struct gprio_turn_cand c[2] = {{.key = 1}, {.key = 2}};
	first_turn(&t, c, 2);
	c[0].pending = true;
	assert_int_equal(step(&t, c, 2, 5 * TURN), 2);
	c[1].waiting = true;
	assert_int_equal(step(&t, c, 2, 5 * TURN + MS), GPRIO_TURN_NONE);
}

/* The holder gone (or no longer active): nobody until its work is gone, then the next. */
static void holder_gone_hands_on(void **s)
{
	(void)s;
	struct gprio_turns t = {0};
	struct gprio_turn_cand c[3] = {{.key = 1}, {.key = 2}, {.key = 3}};
	first_turn(&t, c, 3);
	assert_int_equal(step(&t, c + 1, 2, 2 * MS), GPRIO_TURN_NONE);
	assert_int_equal(step(&t, c + 1, 2, 3 * MS), 3);
}

/* Work that does not drain in `drain` (a queue deeper than that) does not keep the others from
 * the GPU: the next turn is given, mixed (two with work: not single) until the older work has
 * drained. */
static void undrained_work_does_not_keep_the_gpu(void **s)
{
	(void)s;
	struct gprio_turns t = {0};
	struct gprio_turn_cand c[2] = {{.key = 1}, {.key = 2}};
	first_turn(&t, c, 2);
	c[0].pending = true;
	c[1].waiting = true;
	assert_int_equal(step(&t, c, 2, MS + TURN), GPRIO_TURN_NONE);
	assert_int_equal(step(&t, c, 2, MS + TURN + DRAIN - 1), GPRIO_TURN_NONE);
	assert_int_equal(step(&t, c, 2, MS + TURN + DRAIN), 3);
	assert_true(t.mixed);
	assert_false(gprio_turns_single(&t));
	c[1].waiting = false;
	c[1].pending = true; /* both have work */
	assert_int_equal(step(&t, c, 2, 2 * MS + TURN + DRAIN), 3);
	assert_false(gprio_turns_single(&t));
	c[0].pending = false; /* the older work drained */
	assert_int_equal(step(&t, c, 2, 3 * MS + TURN + DRAIN), 3);
	assert_true(gprio_turns_single(&t));
}

/* The next turn goes to one that waits for it, in key order after the last holder, around. */
static void next_prefers_waiting(void **s)
{
	(void)s;
	struct gprio_turn_cand c[4] = {{.key = 7}, {.key = 2}, {.key = 5}, {.key = 3}};
	assert_int_equal(gprio_turns_next(c, 4, 0), 3);
	assert_int_equal(gprio_turns_next(c, 4, 3), 4);
	assert_int_equal(gprio_turns_next(c, 4, 8), 3);
	c[0].waiting = true;
	assert_int_equal(gprio_turns_next(c, 4, 3), 8);
	c[1].waiting = true;
	assert_int_equal(gprio_turns_next(c, 4, 8), 3);
	assert_int_equal(gprio_turns_next(c, 4, 3), 8);
}

/* Turned off: everyone again, and the next time turns begin they drain first. */
static void off_resets(void **s)
{
	(void)s;
	struct gprio_turns t = {0};
	struct gprio_turn_cand c[2] = {{.key = 1}, {.key = 2}};
	first_turn(&t, c, 2);
	assert_int_equal(gprio_turns_step(&t, false, c, 2, TURN, DRAIN, 2 * MS), GPRIO_TURN_ALL);
	assert_int_equal(t.given, 0);
	assert_int_equal(step(&t, c, 2, 3 * MS), GPRIO_TURN_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_or_off_is_everyone),
		cmocka_unit_test(turns_drain_then_rotate),
		cmocka_unit_test(nobody_waiting_keeps_the_turn),
		cmocka_unit_test(holder_gone_hands_on),
		cmocka_unit_test(undrained_work_does_not_keep_the_gpu),
		cmocka_unit_test(next_prefers_waiting),
		cmocka_unit_test(off_resets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
