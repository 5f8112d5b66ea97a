// Thin shim over libpq. pkg-config libpq supplies -I/usr/include/postgresql.
#ifndef CHUB_LIBPQ_SHIM_H
#define CHUB_LIBPQ_SHIM_H
#include <libpq-fe.h>

// The PG_DIAG_* field codes are character-literal macros, which Swift does not import.
static inline int chub_pq_diag_sqlstate(void) { return PG_DIAG_SQLSTATE; }
static inline int chub_pq_diag_message_primary(void) { return PG_DIAG_MESSAGE_PRIMARY; }
static inline int chub_pq_diag_message_detail(void) { return PG_DIAG_MESSAGE_DETAIL; }
static inline int chub_pq_diag_message_hint(void) { return PG_DIAG_MESSAGE_HINT; }
static inline int chub_pq_diag_severity(void) { return PG_DIAG_SEVERITY_NONLOCALIZED; }
static inline int chub_pq_diag_schema_name(void) { return PG_DIAG_SCHEMA_NAME; }
static inline int chub_pq_diag_table_name(void) { return PG_DIAG_TABLE_NAME; }
static inline int chub_pq_diag_column_name(void) { return PG_DIAG_COLUMN_NAME; }
static inline int chub_pq_diag_constraint_name(void) { return PG_DIAG_CONSTRAINT_NAME; }
#endif
