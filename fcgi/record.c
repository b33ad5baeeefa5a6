/*
 * record.c - FastCGI record encoding and decoding (client side).
 */
#include <string.h>

#include "foyer/core.h"
#include "foyer/fcgi.h"

enum {
	ST_HEADER = 0,
	ST_CONTENT, /* STDOUT/STDERR data, handed out as spans */
	ST_BODY,    /* END_REQUEST/UNKNOWN_TYPE body, collected */
	ST_SKIP,    /* GET_VALUES_RESULT content, dropped */
	ST_PADDING,
	ST_DONE,
};

static size_t padding_for(size_t content_len)
{
	size_t pad = (8 - (content_len & 7)) & 7;

	return content_len + pad <= FCGI_MAX_LENGTH ? pad : 0;
}

size_t fy_fcgi_header(unsigned char out[FCGI_HEADER_LEN], unsigned type,
		      size_t content_len)
{
	size_t pad;

	if (content_len > FCGI_MAX_LENGTH)
		content_len = FCGI_MAX_LENGTH;
	pad = padding_for(content_len);
	out[0] = FCGI_VERSION_1;
	out[1] = (unsigned char)type;
	out[2] = (FY_FCGI_REQUEST_ID >> 8) & 0xff;
	out[3] = FY_FCGI_REQUEST_ID & 0xff;
	out[4] = (unsigned char)(content_len >> 8);
	out[5] = (unsigned char)(content_len & 0xff);
	out[6] = (unsigned char)pad;
	out[7] = 0;
	return pad;
}

void fy_fcgi_begin_request(unsigned char out[16], int keep_conn)
{
	FCGI_BeginRequestBody body = {
	    .roleB1 = (FCGI_RESPONDER >> 8) & 0xff,
	    .roleB0 = FCGI_RESPONDER & 0xff,
	    .flags = keep_conn ? FCGI_KEEP_CONN : 0,
	};

	fy_fcgi_header(out, FCGI_BEGIN_REQUEST, sizeof(body));
	memcpy(out + FCGI_HEADER_LEN, &body, sizeof(body));
}

void fy_fcgi_abort_request(unsigned char out[FCGI_HEADER_LEN])
{
	fy_fcgi_header(out, FCGI_ABORT_REQUEST, 0);
}

void fy_fcgi_end_stream(unsigned char out[FCGI_HEADER_LEN], unsigned type)
{
	fy_fcgi_header(out, type, 0);
}

static size_t length_size(size_t len)
{
	return len < 128 ? 1 : 4;
}

size_t fy_fcgi_pair_size(size_t name_len, size_t value_len)
{
	if (name_len == 0 || name_len > FY_FCGI_PAIR_LEN_MAX ||
	    value_len > FY_FCGI_PAIR_LEN_MAX)
		return 0;
	return length_size(name_len) + length_size(value_len) + name_len +
	       value_len;
}

static unsigned char *put_length(unsigned char *p, size_t len)
{
	if (len < 128) {
		*p++ = (unsigned char)len;
		return p;
	}
	*p++ = (unsigned char)(((len >> 24) & 0x7f) | 0x80);
	*p++ = (unsigned char)(len >> 16);
	*p++ = (unsigned char)(len >> 8);
	*p++ = (unsigned char)len;
	return p;
}

size_t fy_fcgi_pair_encode(unsigned char *out, size_t cap, const char *name,
			   size_t name_len, const char *value, size_t value_len)
{
	size_t n = fy_fcgi_pair_size(name_len, value_len);
	unsigned char *p = out;

	if (n == 0 || n > cap)
		return 0;
	p = put_length(p, name_len);
	p = put_length(p, value_len);
	memcpy(p, name, name_len);
	if (value_len)
		memcpy(p + name_len, value, value_len);
	return n;
}

size_t fy_fcgi_stream_size(size_t len)
{
	size_t full = len / FY_FCGI_STREAM_CHUNK;
	size_t rest = len % FY_FCGI_STREAM_CHUNK;
	size_t n = full * (FCGI_HEADER_LEN + FY_FCGI_STREAM_CHUNK);

	if (rest)
		n += FCGI_HEADER_LEN + rest + padding_for(rest);
	return n;
}

size_t fy_fcgi_stream_encode(unsigned char *out, size_t cap, unsigned type,
			     const void *data, size_t len)
{
	const unsigned char *src = data;
	size_t total = fy_fcgi_stream_size(len);
	unsigned char *p = out;

	if (total == 0 || total > cap)
		return 0;
	while (len > 0) {
		size_t n =
		    len < FY_FCGI_STREAM_CHUNK ? len : FY_FCGI_STREAM_CHUNK;
		size_t pad = fy_fcgi_header(p, type, n);

		memcpy(p + FCGI_HEADER_LEN, src, n);
		memset(p + FCGI_HEADER_LEN + n, 0, pad);
		p += FCGI_HEADER_LEN + n + pad;
		src += n;
		len -= n;
	}
	return total;
}

/* ---- PARAMS builder ---------------------------------------------------- */

void fy_fcgi_params_init(struct fy_fcgi_params *p, void *buf, size_t cap)
{
	memset(p, 0, sizeof(*p));
	p->buf = buf;
	p->cap = cap;
}

static int params_fail(struct fy_fcgi_params *p, enum fy_fcgi_params_error err)
{
	if (p->error == FY_FCGI_PARAMS_OK)
		p->error = err;
	return FY_ERROR;
}

/* Writes the open record's header and zeroes its padding. */
static int params_close(struct fy_fcgi_params *p)
{
	size_t content = p->len - p->rec - FCGI_HEADER_LEN;
	size_t pad = padding_for(content);

	if (pad > p->cap - p->len)
		return params_fail(p, FY_FCGI_PARAMS_NO_SPACE);
	fy_fcgi_header(p->buf + p->rec, FCGI_PARAMS, content);
	memset(p->buf + p->len, 0, pad);
	p->len += pad;
	p->open = 0;
	return FY_OK;
}

int fy_fcgi_params_add(struct fy_fcgi_params *p, const char *name,
		       size_t name_len, const char *value, size_t value_len)
{
	size_t n;

	if (p->error != FY_FCGI_PARAMS_OK)
		return FY_ERROR;
	if (p->finished)
		return params_fail(p, FY_FCGI_PARAMS_FINISHED);
	n = fy_fcgi_pair_size(name_len, value_len);
	if (n == 0)
		return params_fail(p, FY_FCGI_PARAMS_BAD_PAIR);
	if (n > FCGI_MAX_LENGTH)
		return params_fail(p, FY_FCGI_PARAMS_PAIR_SIZE);
	if (p->open &&
	    p->len - p->rec - FCGI_HEADER_LEN + n > FCGI_MAX_LENGTH &&
	    params_close(p) != FY_OK)
		return FY_ERROR;
	if (!p->open) {
		if (p->cap - p->len < FCGI_HEADER_LEN)
			return params_fail(p, FY_FCGI_PARAMS_NO_SPACE);
		p->rec = p->len;
		p->len += FCGI_HEADER_LEN;
		p->open = 1;
	}
	if (fy_fcgi_pair_encode(p->buf + p->len, p->cap - p->len, name,
				name_len, value, value_len) != n)
		return params_fail(p, FY_FCGI_PARAMS_NO_SPACE);
	p->len += n;
	p->pairs++;
	return FY_OK;
}

int fy_fcgi_params_emit(void *arg, const char *name, size_t name_len,
			const char *value, size_t value_len)
{
	return fy_fcgi_params_add(arg, name, name_len, value, value_len);
}

int fy_fcgi_params_finish(struct fy_fcgi_params *p, size_t *len)
{
	if (p->error != FY_FCGI_PARAMS_OK)
		return FY_ERROR;
	if (p->finished)
		return params_fail(p, FY_FCGI_PARAMS_FINISHED);
	if (p->open && params_close(p) != FY_OK)
		return FY_ERROR;
	if (p->cap - p->len < FCGI_HEADER_LEN)
		return params_fail(p, FY_FCGI_PARAMS_NO_SPACE);
	fy_fcgi_end_stream(p->buf + p->len, FCGI_PARAMS);
	p->len += FCGI_HEADER_LEN;
	p->finished = 1;
	*len = p->len;
	return FY_OK;
}

/* ---- Decoder ----------------------------------------------------------- */

void fy_fcgi_parser_init(struct fy_fcgi_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = ST_HEADER;
}

static int parse_fail(struct fy_fcgi_parser *p, enum fy_fcgi_parse_error err)
{
	p->error = err;
	return FY_ERROR;
}

/* Validates a complete header and picks the state for its content. */
static int start_record(struct fy_fcgi_parser *p)
{
	unsigned id = (unsigned)p->hdr[2] << 8 | p->hdr[3];
	size_t len = (size_t)p->hdr[4] << 8 | p->hdr[5];

	if (p->hdr[0] != FCGI_VERSION_1)
		return parse_fail(p, FY_FCGI_ERR_VERSION);
	p->type = p->hdr[1];
	p->content_left = len;
	p->padding_left = p->hdr[6];
	p->have = 0;
	p->reported = 0;
	switch (p->type) {
	case FCGI_STDOUT:
	case FCGI_STDERR:
		if (id != FY_FCGI_REQUEST_ID)
			return parse_fail(p, FY_FCGI_ERR_REQUEST_ID);
		p->state = ST_CONTENT;
		return FY_OK;
	case FCGI_END_REQUEST:
		if (id != FY_FCGI_REQUEST_ID)
			return parse_fail(p, FY_FCGI_ERR_REQUEST_ID);
		if (len != sizeof(FCGI_EndRequestBody))
			return parse_fail(p, FY_FCGI_ERR_LENGTH);
		p->state = ST_BODY;
		return FY_OK;
	case FCGI_UNKNOWN_TYPE:
		if (id != FCGI_NULL_REQUEST_ID)
			return parse_fail(p, FY_FCGI_ERR_REQUEST_ID);
		if (len != sizeof(FCGI_UnknownTypeBody))
			return parse_fail(p, FY_FCGI_ERR_LENGTH);
		p->state = ST_BODY;
		return FY_OK;
	case FCGI_GET_VALUES_RESULT:
		if (id != FCGI_NULL_REQUEST_ID)
			return parse_fail(p, FY_FCGI_ERR_REQUEST_ID);
		p->state = ST_SKIP;
		return FY_OK;
	default:
		return parse_fail(p, FY_FCGI_ERR_TYPE);
	}
}

/* The event for a record whose content and padding are fully consumed. */
static int finish_record(struct fy_fcgi_parser *p, struct fy_fcgi_event *ev)
{
	const unsigned char *b = p->body;

	p->state = ST_HEADER;
	p->have = 0;
	memset(ev, 0, sizeof(*ev));
	ev->record_type = p->type;
	switch (p->type) {
	case FCGI_END_REQUEST:
		ev->type = FY_FCGI_EV_END;
		ev->app_status = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
				 (uint32_t)b[2] << 8 | b[3];
		ev->protocol_status = b[4];
		p->state = ST_DONE;
		return FY_DONE;
	case FCGI_UNKNOWN_TYPE:
		ev->type = FY_FCGI_EV_IGNORED;
		ev->unknown_type = b[0];
		return FY_OK;
	case FCGI_GET_VALUES_RESULT:
		ev->type = FY_FCGI_EV_IGNORED;
		return FY_OK;
	default:
		/* Only an empty STDOUT/STDERR record ends here: the stream's
		 * terminator. Data records were reported as spans already. */
		ev->type = p->type == FCGI_STDOUT ? FY_FCGI_EV_STDOUT
						  : FY_FCGI_EV_STDERR;
		return FY_OK;
	}
}

int fy_fcgi_parse(struct fy_fcgi_parser *p, const char *in, size_t len,
		  size_t *consumed, struct fy_fcgi_event *ev)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t off = 0, n;

	for (;;) {
		switch (p->state) {
		case ST_HEADER:
			n = FCGI_HEADER_LEN - p->have;
			if (n > len - off)
				n = len - off;
			memcpy(p->hdr + p->have, u + off, n);
			p->have += n;
			off += n;
			if (p->have < FCGI_HEADER_LEN)
				goto again;
			if (start_record(p) != FY_OK)
				goto fail;
			if (p->state == ST_CONTENT && p->content_left == 0) {
				/* An empty stream record: report it once its
				 * padding is gone. */
				p->state = ST_PADDING;
			}
			break;
		case ST_CONTENT:
			if (off == len)
				goto again;
			n = p->content_left;
			if (n > len - off)
				n = len - off;
			memset(ev, 0, sizeof(*ev));
			ev->type = p->type == FCGI_STDOUT ? FY_FCGI_EV_STDOUT
							  : FY_FCGI_EV_STDERR;
			ev->record_type = p->type;
			ev->data = in + off;
			ev->len = n;
			off += n;
			p->content_left -= n;
			if (p->content_left == 0)
				p->state = ST_PADDING;
			p->reported = 1;
			*consumed = off;
			return FY_OK;
		case ST_BODY:
			n = p->content_left;
			if (n > len - off)
				n = len - off;
			memcpy(p->body + p->have, u + off, n);
			p->have += n;
			off += n;
			p->content_left -= n;
			if (p->content_left > 0)
				goto again;
			p->state = ST_PADDING;
			break;
		case ST_SKIP:
			n = p->content_left;
			if (n > len - off)
				n = len - off;
			off += n;
			p->content_left -= n;
			if (p->content_left > 0)
				goto again;
			p->state = ST_PADDING;
			break;
		case ST_PADDING:
			n = p->padding_left;
			if (n > len - off)
				n = len - off;
			off += n;
			p->padding_left -= n;
			if (p->padding_left > 0)
				goto again;
			if (p->reported) {
				p->state = ST_HEADER;
				p->have = 0;
				break;
			}
			*consumed = off;
			return finish_record(p, ev);
		default:
			*consumed = 0;
			return parse_fail(p, FY_FCGI_ERR_AFTER_END);
		}
	}
again:
	*consumed = off;
	return FY_AGAIN;
fail:
	*consumed = off;
	return FY_ERROR;
}

const char *fy_fcgi_parse_strerror(enum fy_fcgi_parse_error err)
{
	switch (err) {
	case FY_FCGI_ERR_NONE:
		return "no error";
	case FY_FCGI_ERR_VERSION:
		return "bad FastCGI version";
	case FY_FCGI_ERR_REQUEST_ID:
		return "unexpected FastCGI request id";
	case FY_FCGI_ERR_TYPE:
		return "unexpected FastCGI record type";
	case FY_FCGI_ERR_LENGTH:
		return "bad FastCGI record length";
	case FY_FCGI_ERR_AFTER_END:
		return "FastCGI data after END_REQUEST";
	}
	return "unknown error";
}
