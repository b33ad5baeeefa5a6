/*
 * http_chunked.c - incremental decoder of the chunked transfer coding.
 */
#include <stdint.h>

#include "foyer/core.h"
#include "foyer/http.h"

#define SIZE_LINE_MAX 4096
#define TRAILERS_MAX  8190

/* The zero-initialised struct starts in SIZE. */
enum {
	SIZE,	 /* hex digits of chunk-size */
	SIZE_WS, /* BWS after the size, before ";" or CR */
	EXT,	 /* chunk extensions, up to CR */
	SIZE_LF, /* CR seen at the end of the size line */
	DATA,	 /* chunk data */
	DATA_CR, /* CRLF after the data */
	DATA_LF,
	TRAILER_START, /* start of a trailer line or of the final CRLF */
	TRAILER_NAME,
	TRAILER_VALUE,
	TRAILER_LF,
	FINAL_LF,
	FINISHED,
	FAILED,
};

static const uint8_t tchar[256] = {
    ['!'] = 1, ['#' ... '\''] = 1, ['*'] = 1,	      ['+'] = 1, ['-'] = 1,
    ['.'] = 1, ['0' ... '9'] = 1,  ['A' ... 'Z'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['a' ... 'z'] = 1,  ['|'] = 1,	      ['~'] = 1,
};

/* Field values and extensions: VCHAR, obs-text, SP, HTAB. */
static const uint8_t text_ok[256] = {
    ['\t'] = 1,
    [0x20 ... 0x7e] = 1,
    [0x80 ... 0xff] = 1,
};

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int fy_http_chunked_decode(struct fy_http_chunked *dec, const char *in,
			   size_t len, size_t *consumed, const char **data,
			   size_t *data_len)
{
	const unsigned char *p = (const unsigned char *)in;
	const unsigned char *end = p + len;
	int rc = FY_AGAIN;

	*data = NULL;
	*data_len = 0;

	while (p < end) {
		unsigned char c = *p;

		switch (dec->state) {
		case SIZE: {
			int d = hex_value(c);

			if (d >= 0) {
				if (dec->chunk_left > (UINT64_MAX >> 4))
					goto fail;
				dec->chunk_left =
				    (dec->chunk_left << 4) | (unsigned)d;
			} else if (dec->line_len == 0) {
				goto fail;
			} else if (c == '\r') {
				dec->state = SIZE_LF;
			} else if (c == ';') {
				dec->state = EXT;
			} else if (c == ' ' || c == '\t') {
				dec->state = SIZE_WS;
			} else {
				goto fail;
			}
			break;
		}
		case SIZE_WS:
			if (c == '\r')
				dec->state = SIZE_LF;
			else if (c == ';')
				dec->state = EXT;
			else if (c != ' ' && c != '\t')
				goto fail;
			break;
		case EXT:
			/* Extensions are ignored, but only as text. */
			if (c == '\r')
				dec->state = SIZE_LF;
			else if (!text_ok[c])
				goto fail;
			break;
		case SIZE_LF:
			if (c != '\n')
				goto fail;
			dec->line_len = 0;
			dec->state = dec->chunk_left ? DATA : TRAILER_START;
			p++;
			continue;
		case DATA: {
			size_t n = (size_t)(end - p);

			if ((uint64_t)n > dec->chunk_left)
				n = (size_t)dec->chunk_left;
			*data = (const char *)p;
			*data_len = n;
			dec->chunk_left -= n;
			dec->total += n;
			p += n;
			if (dec->chunk_left == 0)
				dec->state = DATA_CR;
			/* One span per call: the caller consumes it first. */
			goto out;
		}
		case DATA_CR:
			if (c != '\r')
				goto fail;
			dec->state = DATA_LF;
			p++;
			continue;
		case DATA_LF:
			if (c != '\n')
				goto fail;
			dec->state = SIZE;
			p++;
			continue;
		case TRAILER_START:
			if (c == '\r') {
				dec->state = FINAL_LF;
				p++;
				continue;
			}
			if (!tchar[c])
				goto fail;
			dec->state = TRAILER_NAME;
			break;
		case TRAILER_NAME:
			if (c == ':')
				dec->state = TRAILER_VALUE;
			else if (!tchar[c])
				goto fail;
			break;
		case TRAILER_VALUE:
			if (c == '\r')
				dec->state = TRAILER_LF;
			else if (!text_ok[c])
				goto fail;
			break;
		case TRAILER_LF:
			if (c != '\n')
				goto fail;
			dec->state = TRAILER_START;
			break;
		case FINAL_LF:
			if (c != '\n')
				goto fail;
			dec->state = FINISHED;
			p++;
			rc = FY_DONE;
			goto out;
		case FINISHED:
			rc = FY_DONE;
			goto out;
		default:
			goto fail;
		}

		/* Only the size line and trailer lines reach this point. */
		if (dec->state <= SIZE_LF) {
			if (c != '\r' && ++dec->line_len > SIZE_LINE_MAX)
				goto fail;
		} else if (++dec->trailer_bytes > TRAILERS_MAX) {
			goto fail;
		}
		p++;
	}
	if (dec->state == FINISHED)
		rc = FY_DONE;
	else if (dec->state == FAILED)
		rc = FY_ERROR;
out:
	*consumed = (size_t)(p - (const unsigned char *)in);
	return rc;

fail:
	dec->state = FAILED;
	*consumed = (size_t)(p - (const unsigned char *)in);
	return FY_ERROR;
}
