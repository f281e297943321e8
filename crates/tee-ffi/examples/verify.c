/*
 * verify.c: verify a SEV-SNP report or a TDX quote with libtee_ffi and print
 * the claims JSON (what `teectl verify` prints for the same inputs).
 *
 *   verify [OPTIONS] snp REPORT VCEK
 *   verify [OPTIONS] tdx QUOTE COLLATERAL
 *   verify [OPTIONS] evidence EVIDENCE_JSON
 *
 * Options:
 *   --at RFC3339                   verification time (required: no clock is read)
 *   --policy FILE                  appraisal policy (TOML); default: admits no workload
 *   --report-data HEX              expected report data (64 bytes, 128 hex digits)
 *   --collateral FILE              collateral bundle (snp, evidence)
 *   --allow-unchecked-revocation   accept no CRL (SEV-SNP) / collateral without CRLs (TDX)
 *   --tamper OFFSET                flip the low bit of byte OFFSET of the report/quote/evidence
 *
 * Exit status: the library's code (0 passed, 1 usage, 2 malformed,
 * 3 authenticity, 4 appraisal failed, 5 unsupported), as `teectl verify`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tee.h"

#define MAX_FILE (64u << 20)

struct buf {
    uint8_t *data;
    size_t len;
};

/* Read a whole file (at most MAX_FILE bytes); 0 on success. */
static int read_file(const char *path, struct buf *out) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "verify: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    if (data == NULL) {
        fclose(f);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_FILE) {
                fprintf(stderr, "verify: %s: larger than %u bytes\n", path, MAX_FILE);
                free(data);
                fclose(f);
                return -1;
            }
            cap *= 2;
            uint8_t *grown = realloc(data, cap);
            if (grown == NULL) {
                free(data);
                fclose(f);
                return -1;
            }
            data = grown;
        }
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "verify: %s: read error\n", path);
        free(data);
        return -1;
    }
    out->data = data;
    out->len = len;
    return 0;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* 128 hex digits into 64 bytes; 0 on success. */
static int parse_report_data(const char *hex, uint8_t out[64]) {
    if (strlen(hex) != 128) return -1;
    for (size_t i = 0; i < 64; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static const char *code_name(int code) {
    switch (code) {
    case TEE_OK: return "ok";
    case TEE_ERR_USAGE: return "usage";
    case TEE_ERR_MALFORMED: return "malformed";
    case TEE_ERR_AUTHENTICITY: return "authenticity";
    case TEE_ERR_POLICY: return "appraisal failed";
    case TEE_ERR_UNSUPPORTED: return "unsupported";
    case TEE_ERR_INTERNAL: return "internal";
    default: return "unknown";
    }
}

static int usage(void) {
    fprintf(stderr,
            "usage: verify --at RFC3339 [--policy FILE] [--report-data HEX] [--collateral FILE]\n"
            "              [--allow-unchecked-revocation] [--tamper OFFSET]\n"
            "              (snp REPORT VCEK | tdx QUOTE COLLATERAL | evidence EVIDENCE_JSON)\n");
    return TEE_ERR_USAGE;
}

/* A setter failed: say why. */
static int failed(const char *what, int code) {
    fprintf(stderr, "verify: %s: %s (code %d): %s\n", what, code_name(code), code,
            tee_last_error_message());
    return code;
}

int main(int argc, char **argv) {
    const char *at = NULL, *policy_path = NULL, *report_data_hex = NULL, *collateral_path = NULL;
    int allow_unchecked_revocation = 0;
    long tamper = -1;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--allow-unchecked-revocation") == 0) {
            allow_unchecked_revocation = 1;
            continue;
        }
        if (i + 1 >= argc) return usage();
        const char *val = argv[++i];
        if (strcmp(opt, "--at") == 0) {
            at = val;
        } else if (strcmp(opt, "--policy") == 0) {
            policy_path = val;
        } else if (strcmp(opt, "--report-data") == 0) {
            report_data_hex = val;
        } else if (strcmp(opt, "--collateral") == 0) {
            collateral_path = val;
        } else if (strcmp(opt, "--tamper") == 0) {
            char *end = NULL;
            tamper = strtol(val, &end, 0);
            if (end == val || *end != '\0' || tamper < 0) return usage();
        } else {
            return usage();
        }
    }
    if (at == NULL || i >= argc) return usage();
    const char *kind = argv[i++];
    int nfiles = strcmp(kind, "evidence") == 0 ? 1 : 2;
    if (strcmp(kind, "snp") != 0 && strcmp(kind, "tdx") != 0 && nfiles != 1) return usage();
    if (argc - i != nfiles) return usage();

    int code = TEE_ERR_USAGE;
    struct buf main_file = {0}, second = {0}, policy = {0}, collateral = {0};
    TeeRequest *req = NULL;
    TeeResult *res = NULL;

    if (read_file(argv[i], &main_file) != 0) goto out;
    if (nfiles == 2 && read_file(argv[i + 1], &second) != 0) goto out;
    if (policy_path != NULL && read_file(policy_path, &policy) != 0) goto out;
    if (collateral_path != NULL && read_file(collateral_path, &collateral) != 0) goto out;
    if (tamper >= 0) {
        if ((size_t)tamper >= main_file.len) {
            fprintf(stderr, "verify: --tamper %ld: past the end (%zu bytes)\n", tamper, main_file.len);
            goto out;
        }
        main_file.data[tamper] ^= 1;
    }

    req = tee_request_new();
    if (req == NULL) {
        code = failed("tee_request_new", TEE_ERR_INTERNAL);
        goto out;
    }
    if (strcmp(kind, "snp") == 0) {
        code = tee_request_set_snp_report(req, main_file.data, main_file.len, second.data, second.len);
    } else if (strcmp(kind, "tdx") == 0) {
        code = tee_request_set_tdx_quote(req, main_file.data, main_file.len, NULL, 0);
        if (code == TEE_OK) code = tee_request_set_collateral(req, second.data, second.len);
    } else {
        code = tee_request_set_evidence_json(req, main_file.data, main_file.len);
    }
    if (code != TEE_OK) {
        failed("evidence", code);
        goto out;
    }
    if ((code = tee_request_set_time_rfc3339(req, at, strlen(at))) != TEE_OK) {
        failed("--at", code);
        goto out;
    }
    if (policy_path != NULL &&
        (code = tee_request_set_policy_toml(req, policy.data, policy.len)) != TEE_OK) {
        failed("--policy", code);
        goto out;
    }
    if (collateral_path != NULL &&
        (code = tee_request_set_collateral(req, collateral.data, collateral.len)) != TEE_OK) {
        failed("--collateral", code);
        goto out;
    }
    if (report_data_hex != NULL) {
        uint8_t rd[64];
        if (parse_report_data(report_data_hex, rd) != 0) {
            fprintf(stderr, "verify: --report-data: expected 128 hex digits\n");
            code = TEE_ERR_USAGE;
            goto out;
        }
        if ((code = tee_request_set_report_data(req, rd, sizeof rd)) != TEE_OK) {
            failed("--report-data", code);
            goto out;
        }
    }
    if (allow_unchecked_revocation &&
        (code = tee_request_allow_unchecked_revocation(req)) != TEE_OK) {
        failed("--allow-unchecked-revocation", code);
        goto out;
    }

    code = tee_verify(req, &res);
    if (res != NULL) {
        /* TEE_OK or TEE_ERR_POLICY: authentic; the claims and every check. */
        printf("%s\n", tee_result_json(res));
    }
    if (code != TEE_OK) {
        /* A rejection: TEE_ERR_POLICY lists the failed checks. */
        fprintf(stderr, "verify: %s (code %d): %s\n", code_name(code), code,
                tee_last_error_message());
    }

out:
    tee_result_free(res);
    tee_request_free(req);
    free(main_file.data);
    free(second.data);
    free(policy.data);
    free(collateral.data);
    return code;
}
