#ifndef SCHEMAGATE_CLIBPQ_SHIM_H
#define SCHEMAGATE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
