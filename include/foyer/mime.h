/*
 * mime.h - file name extension to media type.
 */
#ifndef FOYER_MIME_H
#define FOYER_MIME_H

/* Loads a mime.types file (Debian's /etc/mime.types format: "type ext ext",
 * '#' comments). Missing file: the built-in table alone is used and the
 * function returns FY_ERROR so the caller can log it. Replaces any earlier
 * table. */
int fy_mime_load(const char *path);

/* Media type for a file path, by its last extension, case-insensitive,
 * as written in the table. Unknown: "application/octet-stream". Never NULL.
 * The built-in table covers the web's common types (html, css, js, json,
 * svg, png, jpg, gif, webp, ico, woff2, txt, xml, pdf, wasm, mp4...). */
const char *fy_mime_type(const char *path);

void fy_mime_free(void);

#endif
