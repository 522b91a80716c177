/*
 * test_aggregate.c - unit tests for src/analysis/aggregate: every method on odd and even counts,
 * one value and no value; span status rates; method names; which values are numeric.
 *
 * Percentile expectations are worked by hand with rank = p/100 * (n-1) and linear interpolation:
 *   odd  {1,2,3,4,5}   (given as 5,1,4,2,3): median rank 2 -> 3; p90 rank 3.6 -> 4 + 0.6*1 = 4.6;
 *                      p95 rank 3.8 -> 4.8; p99 rank 3.96 -> 4.96
 *   even {10,20,30,40} (given as 40,10,30,20): median rank 1.5 -> 25; p90 rank 2.7 -> 37;
 *                      p95 rank 2.85 -> 38.5; p99 rank 2.97 -> 39.7
 * (numpy.percentile gives the same numbers.)
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "analysis/aggregate.h"
#include "otlp/span.h"

static double agg(vt_aggregate_method_t m, const double *in, size_t n) {
    double v[16], out = -12345;
    assert_true(n <= 16);
    memcpy(v, in, n * sizeof *v);
    assert_int_equal(vt_aggregate(m, v, n, &out), VT_OK);
    return out;
}

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void test_odd_count(void **state) {
    (void)state;
    const double v[] = {5, 1, 4, 2, 3};
    NEAR(agg(VT_AGG_AVERAGE, v, 5), 3.0);
    NEAR(agg(VT_AGG_MEDIAN, v, 5), 3.0);
    NEAR(agg(VT_AGG_P90, v, 5), 4.6);
    NEAR(agg(VT_AGG_P95, v, 5), 4.8);
    NEAR(agg(VT_AGG_P99, v, 5), 4.96);
    NEAR(agg(VT_AGG_MAX, v, 5), 5.0);
    NEAR(agg(VT_AGG_MIN, v, 5), 1.0);
    NEAR(agg(VT_AGG_SUM, v, 5), 15.0);
    NEAR(agg(VT_AGG_COUNT, v, 5), 5.0);
}

static void test_even_count(void **state) {
    (void)state;
    const double v[] = {40, 10, 30, 20};
    NEAR(agg(VT_AGG_AVERAGE, v, 4), 25.0);
    NEAR(agg(VT_AGG_MEDIAN, v, 4), 25.0);
    NEAR(agg(VT_AGG_P90, v, 4), 37.0);
    NEAR(agg(VT_AGG_P95, v, 4), 38.5);
    NEAR(agg(VT_AGG_P99, v, 4), 39.7);
    NEAR(agg(VT_AGG_MAX, v, 4), 40.0);
    NEAR(agg(VT_AGG_MIN, v, 4), 10.0);
    NEAR(agg(VT_AGG_SUM, v, 4), 100.0);
    NEAR(agg(VT_AGG_COUNT, v, 4), 4.0);
}

/* Negative and fractional values, and equal values around the interpolation point. */
static void test_negative_and_ties(void **state) {
    (void)state;
    const double v[] = {-0.5, 0.25, 0.25, 2};
    NEAR(agg(VT_AGG_MEDIAN, v, 4), 0.25);
    NEAR(agg(VT_AGG_MIN, v, 4), -0.5);
    NEAR(agg(VT_AGG_SUM, v, 4), 2.0);
    NEAR(agg(VT_AGG_AVERAGE, v, 4), 0.5);
    /* p90: rank 2.7 between 0.25 and 2 -> 0.25 + 0.7 * 1.75 = 1.475 */
    NEAR(agg(VT_AGG_P90, v, 4), 1.475);
}

static void test_one_value(void **state) {
    (void)state;
    const double v[] = {0.42};
    for (vt_aggregate_method_t m = VT_AGG_AVERAGE; m <= VT_AGG_SUM; m++)
        NEAR(agg(m, v, 1), 0.42);
    NEAR(agg(VT_AGG_COUNT, v, 1), 1.0);
}

/* No values is VT_ENOTFOUND for every method (count included), and *out is left alone. */
static void test_no_values(void **state) {
    (void)state;
    double out = 7.5;
    for (vt_aggregate_method_t m = VT_AGG_AVERAGE; m <= VT_AGG_COUNT; m++) {
        assert_int_equal(vt_aggregate(m, NULL, 0, &out), VT_ENOTFOUND);
        assert_true(out == 7.5);
    }
    assert_int_equal(vt_aggregate_statuses(VT_AGG_ERROR_RATE, NULL, 0, &out), VT_ENOTFOUND);
    assert_int_equal(vt_aggregate_statuses(VT_AGG_SUCCESS_RATE, NULL, 0, &out), VT_ENOTFOUND);
    assert_int_equal(vt_aggregate_statuses(VT_AGG_COUNT, NULL, 0, &out), VT_ENOTFOUND);
    assert_true(out == 7.5);
}

/* A long run of small values beside one large one: the compensated sum keeps the small ones. */
static void test_sum_precision(void **state) {
    (void)state;
    enum { N = 100001 };
    double *v = malloc(N * sizeof *v);
    assert_non_null(v);
    v[0] = 1e16;
    for (size_t i = 1; i < N; i++)
        v[i] = 1.0;
    double out;
    assert_int_equal(vt_aggregate(VT_AGG_SUM, v, N, &out), VT_OK);
    assert_true(out == 1e16 + 100000.0);
    free(v);
}

static void test_statuses(void **state) {
    (void)state;
    const int32_t st[] = {VT_STATUS_OK, VT_STATUS_ERROR, VT_STATUS_UNSET, VT_STATUS_ERROR,
                          VT_STATUS_OK, VT_STATUS_OK,    VT_STATUS_UNSET, VT_STATUS_OK};
    double out;
    assert_int_equal(vt_aggregate_statuses(VT_AGG_ERROR_RATE, st, 8, &out), VT_OK);
    NEAR(out, 0.25); /* a ratio, not percent */
    assert_int_equal(vt_aggregate_statuses(VT_AGG_SUCCESS_RATE, st, 8, &out), VT_OK);
    NEAR(out, 0.75); /* UNSET counts as success: only ERROR fails */
    assert_int_equal(vt_aggregate_statuses(VT_AGG_COUNT, st, 8, &out), VT_OK);
    NEAR(out, 8.0);
    assert_int_equal(vt_aggregate_statuses(VT_AGG_ERROR_RATE, st + 1, 1, &out), VT_OK);
    NEAR(out, 1.0);
    assert_int_equal(vt_aggregate_statuses(VT_AGG_SUCCESS_RATE, st + 1, 1, &out), VT_OK);
    NEAR(out, 0.0);
    /* Three spans, one error: 1/3 and 2/3 exactly as divided. */
    assert_int_equal(vt_aggregate_statuses(VT_AGG_ERROR_RATE, st, 3, &out), VT_OK);
    assert_true(out == 1.0 / 3.0);
    assert_int_equal(vt_aggregate_statuses(VT_AGG_SUCCESS_RATE, st, 3, &out), VT_OK);
    assert_true(out == 2.0 / 3.0);

    /* Methods on the wrong input kind. */
    assert_int_equal(vt_aggregate_statuses(VT_AGG_AVERAGE, st, 8, &out), VT_EINVAL);
    double v[] = {1};
    assert_int_equal(vt_aggregate(VT_AGG_ERROR_RATE, v, 1, &out), VT_EINVAL);
    assert_int_equal(vt_aggregate(VT_AGG_SUCCESS_RATE, v, 1, &out), VT_EINVAL);
    assert_int_equal(vt_aggregate((vt_aggregate_method_t)99, v, 1, &out), VT_EINVAL);
}

static void test_method_names(void **state) {
    (void)state;
    static const char *const names[] = {"average", "median",     "p90",         "p95",
                                        "p99",     "max",        "min",         "sum",
                                        "count",   "error_rate", "success_rate"};
    for (size_t i = 0; i < VT_ARRAY_LEN(names); i++) {
        vt_aggregate_method_t m = (vt_aggregate_method_t)-1;
        assert_int_equal(vt_aggregate_method_parse(vt_str_c(names[i]), &m), VT_OK);
        assert_int_equal(m, (vt_aggregate_method_t)i);
        assert_string_equal(vt_aggregate_method_name(m), names[i]);
        assert_int_equal(vt_aggregate_method_on_statuses(m), i >= 9);
    }
    vt_aggregate_method_t m;
    assert_int_equal(vt_aggregate_method_parse(VT_STR("AVERAGE"), &m), VT_EINVAL);
    assert_int_equal(vt_aggregate_method_parse(VT_STR("p50"), &m), VT_EINVAL);
    assert_int_equal(vt_aggregate_method_parse(VT_STR("mean"), &m), VT_EINVAL);
    assert_int_equal(vt_aggregate_method_parse(VT_STR(""), &m), VT_EINVAL);
    /* A sized string is compared by its size, not up to a NUL. */
    assert_int_equal(vt_aggregate_method_parse((vt_str_t){"maxi", 3}, &m), VT_OK);
    assert_int_equal(m, VT_AGG_MAX);
    assert_string_equal(vt_aggregate_method_name((vt_aggregate_method_t)99), "");
}

static bool num(const char *s, double *out) {
    return vt_aggregate_number_text(s, strlen(s), out);
}

static void test_number_text(void **state) {
    (void)state;
    double v = 0;
    assert_true(num("0.42", &v));
    NEAR(v, 0.42);
    assert_true(num(" 7 ", &v));
    NEAR(v, 7.0);
    assert_true(num("\t-3\n", &v));
    NEAR(v, -3.0);
    assert_true(num("+1e-3", &v));
    NEAR(v, 0.001);
    assert_true(num(".5", &v));
    NEAR(v, 0.5);
    assert_true(num("7.", &v));
    NEAR(v, 7.0);
    assert_true(num("2E2", &v));
    NEAR(v, 200.0);
    assert_true(num("0", &v));
    NEAR(v, 0.0);

    const char *bad[] = {"abc",   "",   "   ", "1.2.3", "0x1A",  "inf",   "nan",
                         "-",     ".",  "1e",  "1e+",   "1,000", "1_000", "12abc",
                         "abc12", "e5", "--1", "1 2",   "1e999", "true"};
    for (size_t i = 0; i < VT_ARRAY_LEN(bad); i++) {
        v = 99;
        assert_false(num(bad[i], &v));
        assert_true(v == 99);
    }
    /* The length is honoured: "12" out of "123". */
    assert_true(vt_aggregate_number_text("123", 2, &v));
    NEAR(v, 12.0);
    /* Over the length cap is not numeric, even when it would parse. */
    char longnum[VT_AGGREGATE_MAX_NUMBER_TEXT + 2];
    memset(longnum, '1', sizeof longnum - 1);
    longnum[sizeof longnum - 1] = '\0';
    assert_false(num(longnum, &v));
    longnum[VT_AGGREGATE_MAX_NUMBER_TEXT] = '\0';
    assert_true(num(longnum, &v));
    /* A NUL inside the text ends nothing: the byte is not part of a number. */
    static const char nul_inside[] = {'1', '\0', '2'};
    assert_false(vt_aggregate_number_text(nul_inside, sizeof nul_inside, &v));
}

static void test_number_json(void **state) {
    (void)state;
    double v = 0;
    json_t *j = json_integer(42);
    assert_true(vt_aggregate_number_json(j, &v));
    NEAR(v, 42.0);
    json_decref(j);
    j = json_real(0.125);
    assert_true(vt_aggregate_number_json(j, &v));
    NEAR(v, 0.125);
    json_decref(j);
    j = json_string("0.42");
    assert_true(vt_aggregate_number_json(j, &v));
    NEAR(v, 0.42);
    json_decref(j);

    json_t *not_numbers[] = {json_string("abc"), json_true(),   json_false(),   json_null(),
                             json_array(),       json_object(), json_string("")};
    for (size_t i = 0; i < VT_ARRAY_LEN(not_numbers); i++) {
        v = 99;
        assert_false(vt_aggregate_number_json(not_numbers[i], &v));
        assert_true(v == 99);
        json_decref(not_numbers[i]);
    }
    assert_false(vt_aggregate_number_json(NULL, &v));
}

/* The pipeline a custom metric runs: attribute values, some not numeric, filtered then
 * aggregated. Values "0.2", 0.4 (real), 1 (integer), "n/a", true -> {0.2, 0.4, 1}. */
static void test_values_from_attributes(void **state) {
    (void)state;
    json_error_t err;
    json_t *attrs = json_loads("[\"0.2\", 0.4, 1, \"n/a\", true]", 0, &err);
    assert_non_null(attrs);
    double vals[8];
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(attrs); i++) {
        double v;
        if (vt_aggregate_number_json(json_array_get(attrs, i), &v))
            vals[n++] = v;
    }
    json_decref(attrs);
    assert_int_equal(n, 3);
    double out;
    assert_int_equal(vt_aggregate(VT_AGG_AVERAGE, vals, n, &out), VT_OK);
    NEAR(out, 1.6 / 3.0);
    assert_int_equal(vt_aggregate(VT_AGG_MEDIAN, vals, n, &out), VT_OK);
    NEAR(out, 0.4);
    assert_int_equal(vt_aggregate(VT_AGG_COUNT, vals, n, &out), VT_OK);
    NEAR(out, 3.0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_odd_count),
        cmocka_unit_test(test_even_count),
        cmocka_unit_test(test_negative_and_ties),
        cmocka_unit_test(test_one_value),
        cmocka_unit_test(test_no_values),
        cmocka_unit_test(test_sum_precision),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_method_names),
        cmocka_unit_test(test_number_text),
        cmocka_unit_test(test_number_json),
        cmocka_unit_test(test_values_from_attributes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
