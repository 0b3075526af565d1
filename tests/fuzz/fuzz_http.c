/*
 * fuzz_http: response headers as curl hands them to akvd (header_cb of
 * src/http_req.c, which is static: this file includes http_req.c):
 * Content-Length against the size limit, Retry-After (http_retry_after),
 * WWW-Authenticate, ETag (a blob's version), x-ms-error-code.  The input is split at "\n"
 * into header lines, each given with its line ending as curl does.
 */
#include "../../src/http_req.c"

#include "fuzz.h"

static CURL *easy;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if ((easy = curl_easy_init()) == NULL)
		abort();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req r;
	const char *p = (const char *)data, *end = p + size, *nl;
	char *line, *v;
	size_t n;
	long ms;

	memset(&r, 0, sizeof(r));
	r.easy = easy;
	r.max_body = 1024;
	r.max_other = 64 * 1024;
	r.resp.retry_after_ms = -1;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		/* curl's buffer is not NUL-terminated: nor is this one. */
		if ((line = malloc(n)) == NULL)
			abort();
		memcpy(line, p, n);
		if (header_cb(line, 1, n, &r) != n)
			fuzz_check(r.too_large);
		free(line);
		p += n;
	}
	if (r.resp.retry_after_ms != -1)
		fuzz_check(r.resp.retry_after_ms >= 0 &&
		    r.resp.retry_after_ms <= 24L * 3600 * 1000);
	free(r.resp.www_authenticate);
	free(r.resp.etag);
	free(r.resp.error_code);
	v = fuzz_strndup(data, size);
	if ((ms = http_retry_after(v, 1767225600L)) != -1)
		fuzz_check(ms >= 0 && ms <= 24L * 3600 * 1000);
	free(v);
	return (0);
}
