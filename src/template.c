/*
 * template.c - logic-less, Mustache-style templates (see template.h).
 *
 * template_parse follows mustache.js 4's scanner (parseTemplate) so that
 * whitespace and standalone lines come out byte for byte as there:
 * tokens are collected line by line, and a line that holds a tag, no
 * variable and only whitespace text loses its text (newline included)
 * when it ends.  Names are then resolved statically: each name is known
 * to be either an object (looked up at render time) or a field of the
 * object of an enclosing section, so the objects a template uses can be
 * listed without rendering it.
 *
 * The escaping contexts are in template_escape.c (see template_int.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "template.h"
#include "template_int.h"
#include "util.h"

#define MAX_DEPTH	64	/* sections nested */
#define MAX_CTX		4	/* contexts applied to one insertion */
#define MAX_DELIM	16	/* bytes of a delimiter */

enum field {
	F_SELF,			/* the object itself: its value */
	F_VALUE, F_VERSION, F_CONTENT_TYPE, F_UPDATED, F_TAG, F_KEY,
	F_LEAF, F_CHAIN,
	F_DOT			/* {{.}}: the frame's value */
};

static const char *const field_names[] = {
	NULL, "value", "version", "content_type", "updated", "tags", "key",
	"leaf", "chain"
};

enum node_type { N_TEXT, N_VAR, N_SECTION, N_INVERTED, N_CLOSE };

struct node {
	enum node_type	 type;
	size_t		 off;		/* text, or the tag in t->text */
	size_t		 len;
	unsigned	 line, col;	/* of the tag */
	int		 depth;		/* frame the name is in; -1: root */
	size_t		 ref;		/* root: index in t->refs */
	enum field	 field;
	char		*tag;		/* F_TAG: the tag's name */
	unsigned char	 ctx[MAX_CTX];
	int		 nctx;
	int		 pushes;	/* N_SECTION, N_CLOSE: a frame */
	size_t		 end;		/* sections: index of their N_CLOSE */
};

struct template {
	char		*text;
	size_t		 len;
	struct node	*nodes;
	size_t		 nnodes;
	struct template_ref *refs;
	size_t		 nrefs;
};

/* ---------------------------------------------------------------------- */
/* Parsing                                                                */

/* A token of the scanner: text (one line at most) or a tag. */
struct token {
	int		 is_tag;
	int		 deleted;	/* whitespace of a standalone line */
	char		 type;		/* tag: # ^ / ! = & or 'n' (name) */
	size_t		 off, len;	/* text; tag: the whole tag */
	size_t		 voff, vlen;	/* tag: its trimmed contents */
	unsigned	 line, col;
};

struct parser {
	struct template	*t;
	struct token	*tok;
	size_t		 ntok, captok;
	char		*err;
	size_t		 errlen;
	/* Static frames: open '#' sections, each over an object or not. */
	int		 obj_frame[MAX_DEPTH];
	int		 depth;
};

static int
is_space(unsigned char c)
{

	return (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f');
}

static int
perr(struct parser *p, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
perr(struct parser *p, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(p->err, p->errlen, "%u:%u: ", line, col);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return (-1);
}

static struct token *
tok_new(struct parser *p)
{
	struct token *nt;
	size_t ncap;

	if (p->ntok == p->captok) {
		ncap = p->captok ? p->captok * 2 : 64;
		if ((nt = reallocarray(p->tok, ncap, sizeof(*nt))) == NULL)
			return (NULL);
		p->tok = nt;
		p->captok = ncap;
	}
	nt = &p->tok[p->ntok++];
	memset(nt, 0, sizeof(*nt));
	return (nt);
}

/* Line and column of offset ${off}, counting from *${line}, *${ls}. */
static void
advance(const char *s, size_t from, size_t to, unsigned *line, size_t *ls)
{
	size_t i;

	for (i = from; i < to; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*ls = i + 1;
		}
	}
}

static const char *
find(const char *s, size_t from, size_t len, const char *pat, size_t plen)
{

	if (from > len)
		return (NULL);
	return (memmem(s + from, len - from, pat, plen));
}

/*
 * Split the template into tokens, mark the whitespace of standalone lines
 * deleted (mustache.js's stripSpace), check delimiters.
 */
static int
scan(struct parser *p)
{
	const char *s = p->t->text;
	size_t len = p->t->len, pos = 0, ls = 0, first = 0, i, j, vend;
	char open[MAX_DELIM + 1] = "{{", close[MAX_DELIM + 2] = "}}";
	size_t olen = 2, clen = 2;
	unsigned line = 1;
	int has_tag = 0, non_space = 0;
	const char *o, *c, *e;
	struct token *k;

	for (;;) {
		o = find(s, pos, len, open, olen);
		vend = o != NULL ? (size_t)(o - s) : len;
		/* Text, one token per line. */
		while (pos < vend) {
			e = memchr(s + pos, '\n', vend - pos);
			j = e != NULL ? (size_t)(e - s) + 1 : vend;
			if ((k = tok_new(p)) == NULL)
				return (perr(p, line, 1, "out of memory"));
			k->off = pos;
			k->len = j - pos;
			for (i = pos; i < j; i++)
				if (!is_space((unsigned char)s[i]))
					non_space = 1;
			advance(s, pos, j, &line, &ls);
			pos = j;
			if (e != NULL) {
				if (has_tag && !non_space)
					for (i = first; i < p->ntok; i++)
						if (!p->tok[i].is_tag)
							p->tok[i].deleted = 1;
				has_tag = non_space = 0;
				first = p->ntok;
			}
		}
		if (o == NULL)
			break;
		/* A tag. */
		has_tag = 1;
		if ((k = tok_new(p)) == NULL)
			return (perr(p, line, 1, "out of memory"));
		k->is_tag = 1;
		k->off = pos;
		k->line = line;
		k->col = (unsigned)(pos - ls) + 1;
		pos += olen;
		while (pos < len && is_space((unsigned char)s[pos]))
			pos++;
		k->type = 'n';
		if (pos < len && strchr("#^/>{&=!", s[pos]) != NULL &&
		    s[pos] != '\0')
			k->type = s[pos++];
		while (pos < len && is_space((unsigned char)s[pos]))
			pos++;
		k->voff = pos;
		if (k->type == '{') {
			/* Contents end at "}" + the closing delimiter. */
			memmove(close + 1, close, clen + 1);
			close[0] = '}';
			c = find(s, pos, len, close, clen + 1);
			memmove(close, close + 1, clen + 1);
			if (c != NULL)
				c++;
		} else
			c = find(s, pos, len, close, clen);
		if (c == NULL)
			return (perr(p, k->line, k->col, "unclosed tag"));
		vend = (size_t)(c - s);
		if (k->type == '{')
			vend--;
		while (vend > pos && is_space((unsigned char)s[vend - 1]))
			vend--;
		k->vlen = vend - pos;
		pos = (size_t)(c - s) + clen;
		k->len = pos - k->off;
		if (k->type == '{')
			k->type = '&';
		if (k->type == 'n' || k->type == '&')
			non_space = 1;
		if (k->type == '>')
			return (perr(p, k->line, k->col,
			    "partials ({{>name}}) are not supported"));
		if (k->type == '=') {
			const char *v = s + k->voff;
			size_t n = k->vlen, a, b;

			if (n == 0 || v[n - 1] != '=')
				return (perr(p, k->line, k->col, "a delimiter "
				    "tag ends with '=': {{=<%% %%>=}}"));
			n--;
			while (n > 0 && is_space((unsigned char)v[n - 1]))
				n--;
			for (a = 0; a < n && !is_space((unsigned char)v[a]);
			    a++)
				;
			for (b = a; b < n && is_space((unsigned char)v[b]);
			    b++)
				;
			if (a == 0 || b == n || a > MAX_DELIM ||
			    n - b > MAX_DELIM ||
			    memchr(v, '=', a) != NULL ||
			    memchr(v + b, '=', n - b) != NULL)
				return (perr(p, k->line, k->col, "a delimiter "
				    "tag holds two delimiters of 1 to %d "
				    "bytes without '=', separated by space",
				    MAX_DELIM));
			for (i = b; i < n; i++)
				if (is_space((unsigned char)v[i]))
					return (perr(p, k->line, k->col,
					    "a delimiter tag holds two "
					    "delimiters"));
			memcpy(open, v, a);
			open[a] = '\0';
			olen = a;
			memcpy(close, v + b, n - b);
			close[n - b] = '\0';
			clen = n - b;
		}
		/* The tag's newlines count for positions, not for lines. */
		advance(s, k->off, pos, &line, &ls);
	}
	if (has_tag && !non_space)
		for (i = first; i < p->ntok; i++)
			if (!p->tok[i].is_tag)
				p->tok[i].deleted = 1;
	return (0);
}

static int
ref_add(struct parser *p, const char *name, size_t n, unsigned line,
    unsigned col, size_t *idx)
{
	struct template *t = p->t;
	struct template_ref *nr;
	char *copy;
	size_t i;

	for (i = 0; i < t->nrefs; i++) {
		if (strlen(t->refs[i].name) == n &&
		    memcmp(t->refs[i].name, name, n) == 0) {
			*idx = i;
			return (0);
		}
	}
	if ((copy = strndup(name, n)) == NULL)
		return (-1);
	nr = reallocarray(t->refs, t->nrefs + 1, sizeof(*nr));
	if (nr == NULL) {
		free(copy);
		return (-1);
	}
	t->refs = nr;
	nr[t->nrefs].name = copy;
	nr[t->nrefs].line = line;
	nr[t->nrefs].col = col;
	*idx = t->nrefs++;
	return (0);
}

/* The field named by ${s} (${n} bytes, after "OBJECT."), or -1. */
static int
field_parse(const char *s, size_t n, struct node *nd)
{
	size_t f, fl;

	for (f = F_VALUE; f <= F_CHAIN; f++) {
		fl = strlen(field_names[f]);
		if (f == F_TAG) {
			if (n > fl + 1 && memcmp(s, "tags.", fl + 1) == 0) {
				nd->field = F_TAG;
				nd->tag = strndup(s + fl + 1, n - fl - 1);
				return (nd->tag != NULL ? 0 : -2);
			}
		} else if (n == fl && memcmp(s, field_names[f], n) == 0) {
			nd->field = (enum field)f;
			return (0);
		}
	}
	return (-1);
}

/* Nonzero if ${s} starts with a field name (then '.' or its end). */
static int
is_field(const char *s, size_t n)
{
	size_t f, fl;

	for (f = F_VALUE; f <= F_CHAIN; f++) {
		fl = strlen(field_names[f]);
		if (n >= fl && memcmp(s, field_names[f], fl) == 0 &&
		    (n == fl || s[fl] == '.'))
			return (1);
	}
	return (0);
}

/* Resolve the name of tag ${k} into ${nd} (see template.h, Names). */
static int
resolve(struct parser *p, const struct token *k, const char *v, size_t n,
    struct node *nd)
{
	size_t i, seg;
	int d, rc;

	if (n == 0)
		return (perr(p, k->line, k->col, "a tag names nothing"));
	if (n == 1 && v[0] == '.') {
		if (p->depth == 0)
			return (perr(p, k->line, k->col,
			    "{{.}} outside a section"));
		nd->depth = p->depth - 1;
		nd->field = F_DOT;
		return (0);
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= ' ' || c == 0x7f || strchr("|{}=", c) != NULL)
			return (perr(p, k->line, k->col, "\"%.*s\" is not a "
			    "name", (int)n, v));
	}
	if (strchr("#^/!>&{=.", v[0]) != NULL)
		return (perr(p, k->line, k->col, "\"%.*s\" is not a name",
		    (int)n, v));
	/* The innermost section over an object that has such a field. */
	for (d = p->depth - 1; d >= 0; d--) {
		if (p->obj_frame[d] && is_field(v, n)) {
			nd->depth = d;
			rc = field_parse(v, n, nd);
			if (rc == -2)
				return (perr(p, k->line, k->col,
				    "out of memory"));
			if (rc == -1)
				return (perr(p, k->line, k->col, "unknown "
				    "field in \"%.*s\"", (int)n, v));
			return (0);
		}
	}
	nd->depth = -1;
	for (seg = 0; seg < n && v[seg] != '.'; seg++)
		;
	if (seg + 1 >= n && seg < n)
		return (perr(p, k->line, k->col, "\"%.*s\" is not a name",
		    (int)n, v));
	if (seg < n) {
		rc = field_parse(v + seg + 1, n - seg - 1, nd);
		if (rc == -2)
			return (perr(p, k->line, k->col, "out of memory"));
		if (rc == -1)
			return (perr(p, k->line, k->col, "unknown field in "
			    "\"%.*s\" (value, version, content_type, "
			    "updated, tags.NAME, key, leaf, chain)", (int)n,
			    v));
	} else
		nd->field = F_SELF;
	if (ref_add(p, v, seg, k->line, k->col, &nd->ref) == -1)
		return (perr(p, k->line, k->col, "out of memory"));
	return (0);
}

/* The contexts after the name of a variable tag. */
static int
contexts(struct parser *p, const struct token *k, const char *v, size_t n,
    struct node *nd)
{
	size_t i, a, b;

	i = 0;
	while (i < n) {
		/* v[i] is '|' */
		for (a = i + 1; a < n && is_space((unsigned char)v[a]); a++)
			;
		for (b = a; b < n && v[b] != '|' &&
		    !is_space((unsigned char)v[b]); b++)
			;
		for (i = b; i < n && is_space((unsigned char)v[i]); i++)
			;
		if (i < n && v[i] != '|')
			return (perr(p, k->line, k->col, "expected '|' or "
			    "the end of the tag after \"%.*s\"", (int)(b - a),
			    v + a));
		if (nd->nctx == MAX_CTX)
			return (perr(p, k->line, k->col, "more than %d "
			    "contexts", MAX_CTX));
		for (size_t c = 0; c < sizeof(ctx_names) /
		    sizeof(ctx_names[0]); c++) {
			if (strlen(ctx_names[c]) == b - a &&
			    memcmp(ctx_names[c], v + a, b - a) == 0) {
				nd->ctx[nd->nctx++] = (unsigned char)c;
				break;
			}
			if (c + 1 == sizeof(ctx_names) / sizeof(ctx_names[0]))
				return (perr(p, k->line, k->col, "unknown "
				    "context \"%.*s\" (raw, url, json, yaml, "
				    "sh, xml, properties, pgpass, base64, hex)",
				    (int)(b - a), v + a));
		}
	}
	return (0);
}

static struct node *
node_new(struct parser *p, enum node_type type)
{
	struct node *nn;

	nn = reallocarray(p->t->nodes, p->t->nnodes + 1, sizeof(*nn));
	if (nn == NULL)
		return (NULL);
	p->t->nodes = nn;
	nn = &nn[p->t->nnodes++];
	memset(nn, 0, sizeof(*nn));
	nn->type = type;
	return (nn);
}

/* Turn the tokens into nodes: text merged, names resolved. */
static int
build(struct parser *p)
{
	struct template *t = p->t;
	size_t open[MAX_DEPTH * 2], nopen = 0, i, n, name_len;
	struct token *k, *ok;
	struct node *nd;
	const char *v, *bar;

	for (i = 0; i < p->ntok; i++) {
		k = &p->tok[i];
		if (!k->is_tag) {
			if (k->deleted || k->len == 0)
				continue;
			nd = t->nnodes > 0 ? &t->nodes[t->nnodes - 1] : NULL;
			if (nd != NULL && nd->type == N_TEXT &&
			    nd->off + nd->len == k->off) {
				nd->len += k->len;
				continue;
			}
			if ((nd = node_new(p, N_TEXT)) == NULL)
				return (perr(p, k->line, 1, "out of memory"));
			nd->off = k->off;
			nd->len = k->len;
			continue;
		}
		if (k->type == '!' || k->type == '=')
			continue;
		v = t->text + k->voff;
		n = k->vlen;
		if (k->type == '/') {
			if (nopen == 0)
				return (perr(p, k->line, k->col, "{{/%.*s}} "
				    "closes no section", (int)n, v));
			ok = &p->tok[t->nodes[open[nopen - 1]].end];
			if (ok->vlen != n ||
			    memcmp(t->text + ok->voff, v, n) != 0)
				return (perr(p, k->line, k->col, "{{/%.*s}} "
				    "closes section \"%.*s\" opened at %u:%u",
				    (int)n, v, (int)ok->vlen,
				    t->text + ok->voff, ok->line, ok->col));
			if ((nd = node_new(p, N_CLOSE)) == NULL)
				return (perr(p, k->line, k->col,
				    "out of memory"));
			nopen--;
			nd->pushes = t->nodes[open[nopen]].pushes;
			if (nd->pushes)
				p->depth--;
			t->nodes[open[nopen]].end = t->nnodes - 1;
			continue;
		}
		nd = node_new(p, k->type == '#' ? N_SECTION :
		    k->type == '^' ? N_INVERTED : N_VAR);
		if (nd == NULL)
			return (perr(p, k->line, k->col, "out of memory"));
		nd->off = k->off;
		nd->len = k->len;
		nd->line = k->line;
		nd->col = k->col;
		bar = memchr(v, '|', n);
		name_len = bar != NULL ? (size_t)(bar - v) : n;
		while (name_len > 0 && is_space((unsigned char)v[name_len - 1]))
			name_len--;
		if (bar != NULL && nd->type != N_VAR)
			return (perr(p, k->line, k->col, "a section takes no "
			    "context"));
		if (resolve(p, k, v, name_len, nd) == -1)
			return (-1);
		if (bar != NULL && contexts(p, k, bar, n - (size_t)(bar - v),
		    nd) == -1)
			return (-1);
		if (nd->type == N_VAR)
			continue;
		if (nopen == sizeof(open) / sizeof(open[0]) ||
		    p->depth == MAX_DEPTH)
			return (perr(p, k->line, k->col, "sections nested "
			    "more than %d deep", MAX_DEPTH));
		/* Until closed, end holds the token, for messages. */
		nd->end = i;
		open[nopen++] = t->nnodes - 1;
		if (nd->type == N_SECTION) {
			nd->pushes = 1;
			p->obj_frame[p->depth++] = nd->field == F_SELF ||
			    (nd->field == F_DOT &&
			    p->obj_frame[nd->depth]);
		}
	}
	if (nopen > 0) {
		ok = &p->tok[t->nodes[open[nopen - 1]].end];
		return (perr(p, ok->line, ok->col, "section \"%.*s\" is not "
		    "closed", (int)ok->vlen, t->text + ok->voff));
	}
	return (0);
}

/*
 * template_parse(text, len, err, errlen): compile a template (see
 * template.h).
 */
struct template *
template_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct parser p;
	struct template *t;

	memset(&p, 0, sizeof(p));
	p.err = err;
	p.errlen = errlen;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->text = malloc(len + 1)) == NULL) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	memcpy(t->text, text, len);
	t->text[len] = '\0';
	t->len = len;
	p.t = t;
	if (scan(&p) == -1 || build(&p) == -1) {
		free(p.tok);
		template_free(t);
		return (NULL);
	}
	free(p.tok);
	return (t);
}

/*
 * template_refs(t, n): the objects ${t} references (see template.h).
 */
const struct template_ref *
template_refs(const struct template *t, size_t *n)
{

	*n = t->nrefs;
	return (t->refs);
}

/*
 * template_free(t): release ${t}; NULL is a no-op.
 */
void
template_free(struct template *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nnodes; i++)
		free(t->nodes[i].tag);
	for (i = 0; i < t->nrefs; i++)
		free((char *)t->refs[i].name);
	free(t->nodes);
	free(t->refs);
	free(t->text);
	free(t);
}

/* ---------------------------------------------------------------------- */
/* Rendering                                                              */

struct frame {
	const struct template_object *obj;	/* a section over an object */
	const char	*s;			/* else the string */
	size_t		 len;
	char		 time[32];
};

/*
 * The value of node ${nd}: *${obj} for an object (with its value in *s),
 * else a string.  Returns 1 if present, 0 if absent (then *${what} says
 * what is missing, in a form for messages).
 */
static int
value_of(const struct node *nd, const struct frame *frames,
    template_lookup_fn lookup, void *cookie, const struct template *t,
    const struct template_object **objp, const char **s, size_t *len,
    char *time, size_t timelen, const char **what)
{
	const struct template_object *obj;
	struct tm tm;
	time_t tt;
	size_t i;

	*objp = NULL;
	*s = NULL;
	*len = 0;
	if (nd->depth >= 0 && frames[nd->depth].obj == NULL) {
		/* {{.}} in a section over a string. */
		*s = frames[nd->depth].s;
		*len = frames[nd->depth].len;
		return (1);
	}
	obj = nd->depth >= 0 ? frames[nd->depth].obj :
	    lookup(cookie, t->refs[nd->ref].name);
	if (obj == NULL) {
		*what = "no such object";
		return (0);
	}
	switch (nd->field) {
	case F_SELF:
	case F_DOT:
		*objp = obj;
		/* FALLTHROUGH */
	case F_VALUE:
		*s = obj->value != NULL ? obj->value : "";
		*len = obj->value != NULL ? obj->value_len : 0;
		return (1);
	case F_VERSION:
		*s = obj->version;
		break;
	case F_CONTENT_TYPE:
		*s = obj->content_type;
		break;
	case F_KEY:
		*s = obj->key;
		break;
	case F_LEAF:
		*s = obj->leaf;
		break;
	case F_CHAIN:
		*s = obj->chain;
		break;
	case F_UPDATED:
		tt = (time_t)obj->updated;
		if (obj->updated >= 0 && gmtime_r(&tt, &tm) != NULL &&
		    strftime(time, timelen, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
			*s = time;
		break;
	case F_TAG:
		for (i = 0; i < obj->ntags; i++) {
			if (obj->tags[i].name != NULL &&
			    strcmp(obj->tags[i].name, nd->tag) == 0) {
				*s = obj->tags[i].value != NULL ?
				    obj->tags[i].value : "";
				break;
			}
		}
		if (*s == NULL) {
			*what = "the object has no such tag";
			return (0);
		}
		break;
	}
	if (*s == NULL) {
		*what = "the field is not set for this object";
		return (0);
	}
	*len = strlen(*s);
	return (1);
}

static int
rerr(const struct template *t, const struct node *nd, char *err,
    size_t errlen, const char *msg)
{
	size_t n = nd->len;
	int trunc = 0;

	if (n > 64) {
		n = 64;
		trunc = 1;
	}
	snprintf(err, errlen, "%u:%u: %.*s%s: %s", nd->line, nd->col, (int)n,
	    t->text + nd->off, trunc ? "..." : "", msg);
	return (-1);
}

/*
 * template_render(t, flags, lookup, cookie, out, err, errlen): render
 * ${t} (see template.h).
 */
int
template_render(const struct template *t, int flags,
    template_lookup_fn lookup, void *cookie, struct buf *out, char *err,
    size_t errlen)
{
	struct frame frames[MAX_DEPTH];
	const struct template_object *obj;
	const struct node *nd;
	struct buf tmp[2] = { BUF_INIT, BUF_INIT };
	const char *s, *what, *why;
	char time[32];
	size_t i, len;
	int depth = 0, present, c, rc;

	for (i = 0; i < t->nnodes; i++) {
		nd = &t->nodes[i];
		switch (nd->type) {
		case N_TEXT:
			if (buf_append(out, t->text + nd->off, nd->len) == -1)
				goto nomem;
			continue;
		case N_CLOSE:
			if (nd->pushes)
				depth--;
			continue;
		default:
			break;
		}
		present = value_of(nd, frames, lookup, cookie, t, &obj, &s,
		    &len, time, sizeof(time), &what);
		if (nd->type == N_VAR) {
			if (!present) {
				if (flags & TEMPLATE_STRICT) {
					rerr(t, nd, err, errlen, what);
					goto fail;
				}
				continue;
			}
			rc = 0;
			why = NULL;
			for (c = 0; c < nd->nctx - 1 && rc == 0; c++) {
				buf_wipe(&tmp[c & 1]);
				rc = escape(nd->ctx[c], s, len, &tmp[c & 1],
				    &why);
				s = tmp[c & 1].data != NULL ?
				    tmp[c & 1].data : "";
				len = tmp[c & 1].len;
			}
			if (rc == 0)
				rc = escape(nd->nctx > 0 ?
				    nd->ctx[nd->nctx - 1] : CTX_RAW, s, len,
				    out, &why);
			buf_wipe(&tmp[0]);
			buf_wipe(&tmp[1]);
			if (rc == -1 && why == NULL)
				goto nomem;
			if (rc == -1) {
				rerr(t, nd, err, errlen, why);
				goto fail;
			}
			continue;
		}
		/* Sections: an object is present, a string if not empty. */
		if (present && obj == NULL && len == 0)
			present = 0;
		if (nd->type == N_INVERTED ? present : !present) {
			i = nd->end;
			continue;
		}
		if (nd->type == N_SECTION) {
			frames[depth].obj = obj;
			frames[depth].s = s;
			frames[depth].len = len;
			if (s == time) {
				memcpy(frames[depth].time, time,
				    sizeof(time));
				frames[depth].s = frames[depth].time;
			}
			depth++;
		}
	}
	if (out->data == NULL && buf_append(out, "", 0) == -1)
		goto nomem;
	return (0);
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	buf_wipe(&tmp[0]);
	buf_wipe(&tmp[1]);
	buf_wipe(out);
	return (-1);
}
