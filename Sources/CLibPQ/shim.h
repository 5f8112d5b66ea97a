// Thin shim over libpq. pkg-config libpq supplies -I/usr/include/postgresql.
#ifndef CHUB_LIBPQ_SHIM_H
#define CHUB_LIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
