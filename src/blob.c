/*
 * blob.c - the Azure Blob Storage data plane, as pure functions.
 */
#include <stdio.h>
#include <string.h>

#include "blob.h"

int
blob_etag_usable(const char *version)
{

	return (version != NULL && (version[0] == '"' ||
	    strncmp(version, "W/", 2) == 0));
}

void
blob_xml_text(const char *body, size_t blen, const char *tag, char *out,
    size_t len)
{
	char otag[32], ctag[32];
	const char *p, *e;
	size_t n, i;

	if (len == 0)
		return;
	out[0] = '\0';
	if (body == NULL)
		return;
	snprintf(otag, sizeof(otag), "<%s>", tag);
	snprintf(ctag, sizeof(ctag), "</%s>", tag);
	if ((p = memmem(body, blen, otag, strlen(otag))) == NULL)
		return;
	p += strlen(otag);
	if ((e = memmem(p, blen - (size_t)(p - body), ctag,
	    strlen(ctag))) == NULL)
		return;
	n = (size_t)(e - p);
	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)p[i] < 0x20 ? ' ' : p[i];
	out[n] = '\0';
}

const char *
blob_hint(const char *code, long status)
{

	if (strcmp(code, "AuthorizationPermissionMismatch") == 0 ||
	    strcmp(code, "AuthorizationFailure") == 0 || status == 403)
		return ("the identity needs the \"Storage Blob Data Reader\" "
		    "role on the storage account or the container (and the "
		    "account's network rules must admit this host)");
	if (strcmp(code, "BlobNotFound") == 0)
		return ("no blob of that name in the container: check the "
		    "url");
	if (strcmp(code, "ContainerNotFound") == 0)
		return ("no such container in the storage account: check the "
		    "url");
	if (strcmp(code, "InvalidAuthenticationInfo") == 0 ||
	    strcmp(code, "AuthenticationFailed") == 0 || status == 401)
		return ("the storage token was refused: check the cloud "
		    "(storage_scope) and the tenant");
	return (NULL);
}

void
blob_error(struct fetch_result *r, long status, const char *error_code,
    const char *body, size_t len)
{
	char code[64], msg[256], detail[512];
	const char *hint;

	if (error_code != NULL)
		snprintf(code, sizeof(code), "%s", error_code);
	else
		blob_xml_text(body, len, "Code", code, sizeof(code));
	if (code[0] == '\0')
		snprintf(code, sizeof(code), "no error code");
	blob_xml_text(body, len, "Message", msg, sizeof(msg));
	hint = blob_hint(code, status);
	snprintf(detail, sizeof(detail), "%s%s%s", msg,
	    hint != NULL ? (msg[0] != '\0' ? "; hint: " : "hint: ") : "",
	    hint != NULL ? hint : "");
	fetch_http(r, status, code, detail, -1);
}
