package main

// A few lines of cgo against Debian's libsqlite3 (the Go module proxy is out of reach here, so
// no go-sqlite3): the binary is dynamically linked to libsqlite3.so.0 and glibc.

/*
#cgo LDFLAGS: -lsqlite3
#include <sqlite3.h>
#include <stdlib.h>

// runs setup, then returns the first column of the first row of query (or -1 on error)
static long long lab_scalar(const char *setup, const char *query) {
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long out = -1;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK) goto done;
	if (sqlite3_exec(db, setup, NULL, NULL, NULL) != SQLITE_OK) goto done;
	if (sqlite3_prepare_v2(db, query, -1, &st, NULL) != SQLITE_OK) goto done;
	if (sqlite3_step(st) == SQLITE_ROW) out = sqlite3_column_int64(st, 0);
done:
	if (st) sqlite3_finalize(st);
	if (db) sqlite3_close(db);
	return out;
}
*/
import "C"

import "unsafe"

func scalar(setup, query string) int64 {
	cs, cq := C.CString(setup), C.CString(query)
	defer C.free(unsafe.Pointer(cs))
	defer C.free(unsafe.Pointer(cq))
	return int64(C.lab_scalar(cs, cq))
}

func sqliteVersion() string { return C.GoString(C.sqlite3_libversion()) }
