/*
 * record_evbuffer.c - stream records written into libevent buffers, for the
 * FastCGI client. The framing itself comes from record.c.
 */
#include <event2/buffer.h>

#include "foyer/core.h"
#include "foyer/fcgi.h"

static const unsigned char zeros[8];

static int add_header(struct evbuffer *out, unsigned type, size_t n,
		      size_t *pad)
{
	unsigned char hdr[FCGI_HEADER_LEN];

	*pad = fy_fcgi_header(hdr, type, n);
	return evbuffer_add(out, hdr, sizeof(hdr)) == 0 ? FY_OK : FY_ERROR;
}

int fy_fcgi_evbuffer_add_stream(struct evbuffer *out, unsigned type,
				const void *data, size_t len)
{
	const unsigned char *src = data;

	while (len > 0) {
		size_t n =
		    len < FY_FCGI_STREAM_CHUNK ? len : FY_FCGI_STREAM_CHUNK;
		size_t pad;

		if (add_header(out, type, n, &pad) != FY_OK ||
		    evbuffer_add(out, src, n) != 0 ||
		    evbuffer_add(out, zeros, pad) != 0)
			return FY_ERROR;
		src += n;
		len -= n;
	}
	return FY_OK;
}

int fy_fcgi_evbuffer_move_stream(struct evbuffer *out, unsigned type,
				 struct evbuffer *src, size_t len)
{
	if (evbuffer_get_length(src) < len)
		return FY_ERROR;
	while (len > 0) {
		size_t n =
		    len < FY_FCGI_STREAM_CHUNK ? len : FY_FCGI_STREAM_CHUNK;
		size_t pad;

		/* remove_buffer moves whole chains where it can: the body is
		 * not copied, only framed. */
		if (add_header(out, type, n, &pad) != FY_OK ||
		    evbuffer_remove_buffer(src, out, n) != (int)n ||
		    evbuffer_add(out, zeros, pad) != 0)
			return FY_ERROR;
		len -= n;
	}
	return FY_OK;
}
