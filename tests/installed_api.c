/* installed_api.c: README.md's C example, built by make installcheck against the installed static
 * library with pkg-config --static: the claims of an example, from the rules found by default. */
#include <derivcheck.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    dc_session *s = dc_session_new();
    const char *report;
    int status = 2;
    dc_status st = dc_load(s, argv[1]);
    if (st == DC_OK)
        st = dc_check(s, 1, "text", &report);
    /* a verdict on every claim: all hold, one refuted, or one undecided */
    if (st == DC_OK || st == DC_REFUTED || st == DC_UNDECIDED) {
        for (size_t i = 0; i < dc_result_claim_count(s); i++) {
            const dc_claim *c = dc_result_claim(s, i);
            dc_diagnosis d = dc_claim_diagnosis(c);
            printf("%s: %s %s\n", dc_claim_name(c), dc_verdict_code(dc_claim_verdict(c)),
                   d != DC_DIAGNOSIS_NONE ? dc_diagnosis_code(d) : "");
        }
        status = 0;
    } else if (dc_session_error(s) != NULL)
        fputs(dc_error_text(dc_session_error(s)), stderr);
    dc_session_free(s);
    return status;
}
