#ifndef SCHEMAGATE_CSYSTEMD_H
#define SCHEMAGATE_CSYSTEMD_H

// The three calls of libsystemd that schemagate makes, through a library loaded on first use
// (see systemd.c). Each behaves as the libsystemd call of the same name.

#include <stdint.h>
#include <sys/uio.h>

/// sd_notify(3); 0 without loading anything when NOTIFY_SOCKET is unset.
int schemagate_sd_notify(int unset_environment, const char *state);
/// sd_watchdog_enabled(3); 0 without loading anything when WATCHDOG_USEC is unset.
int schemagate_sd_watchdog_enabled(int unset_environment, uint64_t *usec);
/// sd_journal_sendv(3).
int schemagate_sd_journal_sendv(const struct iovec *iov, int n);
/// Whether libsystemd could be loaded (loads it when not yet tried).
int schemagate_sd_available(void);

#endif
