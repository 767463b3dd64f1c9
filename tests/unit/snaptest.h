/* For device checkpoint tests: what a device's save wrote into a writer
 * (begun with snap_begin), as the one section restore would be given.
 * Include after cmocka.h. */
#ifndef KHYVE_SNAPTEST_H
#define KHYVE_SNAPTEST_H

#include "snapshot/snapfile.h"

static inline struct snap_section snaptest_section(struct snap_writer *w)
{
	struct snap_section s = { .data = w->buf, .size = w->len };

	snap_end(w);
	assert_int_equal(w->err, 0);
	return s;
}

#endif
