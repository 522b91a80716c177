/*
 * test_filter.c - unit tests for src/api/filter.c: the list filter parser, its accepted forms and
 * every error it reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "api/filter.h"

typedef struct {
    vt_arena_t arena;
    vt_filter_t f;
    char err[320];
} fixture_t;

static int setup(void **state) {
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    vt_arena_init(&fx->arena, 1 << 20);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture_t *fx = *state;
    vt_arena_free(&fx->arena);
    free(fx);
    return 0;
}

static vt_err_t parse(fixture_t *fx, const char *text) {
    fx->err[0] = '\0';
    return vt_filter_parse(vt_str_c(text), &fx->arena, &fx->f, fx->err, sizeof fx->err);
}

/* Parses text that must fail, and checks the message contains `want`. */
static void expect_error(fixture_t *fx, const char *text, const char *want) {
    vt_err_t e = parse(fx, text);
    if (e != VT_EINVAL || !strstr(fx->err, want))
        fail_msg("filter %s: got error %d \"%s\", wanted a message containing \"%s\"", text, e,
                 fx->err, want);
}

/* ---- accepted forms ------------------------------------------------------------------------ */

static void test_single_term(void **state) {
    fixture_t *fx = *state;
    assert_int_equal(parse(fx, "run_id=\"01J9ZQ\""), VT_OK);
    assert_int_equal(fx->f.n, 1);
    assert_string_equal(fx->f.terms[0].field, "run_id");
    assert_string_equal(fx->f.terms[0].value, "01J9ZQ");
    assert_string_equal(vt_filter_get(&fx->f, "run_id"), "01J9ZQ");
    assert_null(vt_filter_get(&fx->f, "status"));
}

static void test_and_terms_with_spacing(void **state) {
    fixture_t *fx = *state;
    assert_int_equal(parse(fx, "  status = \"COMPLETED\"\tAND\n metadata.customer=\"acme\"  "),
                     VT_OK);
    assert_int_equal(fx->f.n, 2);
    assert_string_equal(fx->f.terms[0].field, "status");
    assert_string_equal(fx->f.terms[0].value, "COMPLETED");
    assert_string_equal(fx->f.terms[1].field, "metadata.customer");
    assert_string_equal(fx->f.terms[1].value, "acme");
    /* No space is needed between a closing quote and AND. */
    assert_int_equal(parse(fx, "a=\"1\"AND b=\"2\""), VT_OK);
    assert_int_equal(fx->f.n, 2);
    assert_string_equal(fx->f.terms[1].value, "2");
}

static void test_escapes_and_special_values(void **state) {
    fixture_t *fx = *state;
    assert_int_equal(parse(fx, "external_conversation_id=\"say \\\"hi\\\" \\\\ bye\""), VT_OK);
    assert_string_equal(fx->f.terms[0].value, "say \"hi\" \\ bye");
    /* Inside quotes AND, = and spaces are plain text. */
    assert_int_equal(parse(fx, "x=\"a AND b=c\""), VT_OK);
    assert_int_equal(fx->f.n, 1);
    assert_string_equal(fx->f.terms[0].value, "a AND b=c");
    assert_int_equal(parse(fx, "x=\"\""), VT_OK);
    assert_string_equal(fx->f.terms[0].value, "");
    /* UTF-8 passes through unchanged. */
    assert_int_equal(parse(fx, "metadata.city=\"Zürich\""), VT_OK);
    assert_string_equal(fx->f.terms[0].value, "Zürich");
}

static void test_field_names(void **state) {
    fixture_t *fx = *state;
    assert_int_equal(parse(fx, "metadata.a-b.c_1=\"v\" AND _x9=\"w\""), VT_OK);
    assert_string_equal(fx->f.terms[0].field, "metadata.a-b.c_1");
    assert_string_equal(fx->f.terms[1].field, "_x9");
    /* Keys after a dot may start with a digit. */
    assert_int_equal(parse(fx, "metadata.2024=\"v\""), VT_OK);
    assert_string_equal(fx->f.terms[0].field, "metadata.2024");
}

static void test_empty_is_no_filter(void **state) {
    fixture_t *fx = *state;
    assert_int_equal(parse(fx, ""), VT_OK);
    assert_int_equal(fx->f.n, 0);
    assert_int_equal(parse(fx, " \t\n "), VT_OK);
    assert_int_equal(fx->f.n, 0);
}

static void test_max_terms(void **state) {
    fixture_t *fx = *state;
    char text[1024];
    size_t len = 0;
    for (int i = 0; i < VT_FILTER_MAX_TERMS; i++)
        len +=
            (size_t)snprintf(text + len, sizeof text - len, "%sf%d=\"%d\"", i ? " AND " : "", i, i);
    assert_int_equal(parse(fx, text), VT_OK);
    assert_int_equal(fx->f.n, VT_FILTER_MAX_TERMS);
    assert_string_equal(fx->f.terms[15].field, "f15");
    assert_string_equal(fx->f.terms[15].value, "15");
    snprintf(text + len, sizeof text - len, " AND g=\"x\"");
    expect_error(fx, text, "more than 16 terms");
}

/* ---- errors -------------------------------------------------------------------------------- */

static void test_error_positions(void **state) {
    fixture_t *fx = *state;
    expect_error(fx, "run_id",
                 "expected = after run_id, found the end of the filter (at character 7)");
    expect_error(fx, "run_id=", "expected a quoted value after run_id=, found the end");
    expect_error(fx, "a=\"1\" AND",
                 "expected a term after AND, found the end of the filter (at character 10)");
    expect_error(fx, "a=\"1\" AND ", "expected a term after AND");
}

static void test_error_unquoted_value(void **state) {
    fixture_t *fx = *state;
    expect_error(fx, "status=COMPLETED",
                 "the value of status must be a quoted string, e.g. status=\"...\"");
    expect_error(fx, "status='COMPLETED'", "must be a quoted string");
}

static void test_error_unterminated_and_escapes(void **state) {
    fixture_t *fx = *state;
    expect_error(fx, "run_id=\"abc", "the value of run_id has no closing quote");
    expect_error(fx, "run_id=\"abc\\\"", "no closing quote");
    expect_error(fx, "run_id=\"a\\nb\"", "unsupported escape in the value of run_id");
    expect_error(fx, "run_id=\"a\\", "unsupported escape");
}

static void test_error_operators(void **state) {
    fixture_t *fx = *state;
    expect_error(fx, "a!=\"1\"", "operator != is not supported after a; only = is");
    expect_error(fx, "a == \"1\"", "operator == is not supported");
    expect_error(fx, "a<\"1\"", "operator < is not supported");
    expect_error(fx, "a>=\"1\"", "operator >= is not supported");
    expect_error(fx, "a:\"1\"", "operator : is not supported");
    expect_error(fx, "a \"1\"", "expected = after a, found \"");
}

static void test_error_joiners(void **state) {
    fixture_t *fx = *state;
    expect_error(fx, "a=\"1\" OR b=\"2\"", "OR is not supported; join terms with AND");
    expect_error(fx, "a=\"1\" NOT b=\"2\"", "NOT is not supported");
    expect_error(fx, "a=\"1\" and b=\"2\"", "write AND in capitals");
    expect_error(fx, "a=\"1\" b=\"2\"", "expected AND between terms, found \"b=\"");
    expect_error(fx, "a=\"1\" ANDb=\"2\"", "expected AND between terms, found \"ANDb=\"");
    expect_error(fx, "(a=\"1\")", "parentheses are not supported");
}

static void test_error_field_names(void **state) {
    fixture_t *fx = *state;
    expect_error(fx, "=\"1\"", "expected a field name, found \"=\" (at character 1)");
    expect_error(fx, "9a=\"1\"", "expected a field name, found \"9a=\"");
    expect_error(fx, "metadata.=\"1\"", "expected a key after \"metadata.\"");
    expect_error(fx, "metadata..x=\"1\"", "expected a key after \"metadata.\"");
    expect_error(fx, "a=\"1\" AND a=\"2\"", "field a appears more than once (at character 11)");
}

static void test_error_limits(void **state) {
    fixture_t *fx = *state;
    size_t n = VT_FILTER_MAX_LEN + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[n] = '\0';
    expect_error(fx, big, "longer than 4096 characters");
    free(big);
    /* A NUL byte inside sized text is rejected, not silently truncated. */
    vt_err_t e =
        vt_filter_parse((vt_str_t){"a=\"x\0y\"", 7}, &fx->arena, &fx->f, fx->err, sizeof fx->err);
    assert_int_equal(e, VT_EINVAL);
    assert_non_null(strstr(fx->err, "NUL character (at character 5)"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_term, setup, teardown),
        cmocka_unit_test_setup_teardown(test_and_terms_with_spacing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escapes_and_special_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_is_no_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_terms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_unquoted_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_unterminated_and_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_operators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_joiners, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_field_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_limits, setup, teardown),
    };
    return cmocka_run_group_tests_name("filter", tests, NULL, NULL);
}
