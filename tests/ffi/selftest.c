/*
 * selftest.c: deliberate misuse of libtee_ffi, to show that the memory
 * checker of tests/ffi/run.sh sees errors through the library (a check that
 * cannot fail proves nothing).
 *   selftest leak     a request that is never freed
 *   selftest double   a request freed twice
 */
#include <string.h>

#include "tee.h"

/* A request nobody can reach any more (not left behind in main's frame,
 * where a leak checker scanning the stack would still find it). */
static __attribute__((noinline)) int lose_request(void) {
    volatile char scrub[256];
    TeeRequest *r = tee_request_new();
    int code = r == NULL ? TEE_ERR_INTERNAL : tee_request_set_time_unix(r, 1);
    r = NULL;
    memset((char *)scrub, 0, sizeof scrub);
    return code;
}

int main(int argc, char **argv) {
    if (argc != 2) return 1;
    TeeRequest *req = tee_request_new();
    if (req == NULL || tee_request_set_time_unix(req, 1) != TEE_OK) return 1;
    if (strcmp(argv[1], "leak") == 0) {
        tee_request_free(req);
        int code = lose_request();
        /* More calls, so no register still holds the lost pointer either. */
        for (int i = 0; i < 4; i++) {
            tee_request_free(tee_request_new());
        }
        return code;
    }
    if (strcmp(argv[1], "double") == 0) {
        tee_request_free(req);
        tee_request_free(req);
        return 0;
    }
    return 1;
}
