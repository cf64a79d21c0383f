// libsystemd, loaded on first use instead of at start-up.
//
// Linked normally, libsystemd and the libraries it needs (libgcrypt, liblzma, libzstd, liblz4,
// libcap, libgpg-error) cost every start about 1.5 ms of mapping and relocating, though only
// three of its calls are used, and only under systemd: `schemagate migrate` in a deploy script
// never makes one. So the library is opened the first time one of them is needed, which is
// never when NOTIFY_SOCKET and WATCHDOG_USEC are unset and stderr is not the journal. This is how
// systemd's own tools treat their optional libraries.

#include "CSystemd.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

static struct {
    __typeof__(sd_notify) *notify;
    __typeof__(sd_watchdog_enabled) *watchdog_enabled;
    __typeof__(sd_journal_sendv) *journal_sendv;
} calls;
static pthread_once_t loaded = PTHREAD_ONCE_INIT;

static void load(void) {
    void *library = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (library != NULL) {
        calls.notify = (__typeof__(sd_notify) *)dlsym(library, "sd_notify");
        calls.watchdog_enabled = (__typeof__(sd_watchdog_enabled) *)dlsym(library, "sd_watchdog_enabled");
        calls.journal_sendv = (__typeof__(sd_journal_sendv) *)dlsym(library, "sd_journal_sendv");
    }
    if (calls.notify == NULL || calls.watchdog_enabled == NULL || calls.journal_sendv == NULL) {
        // Only reached under systemd (a notify socket, a watchdog or the journal asked for it),
        // where the service would otherwise fail to start without saying why.
        fprintf(stderr, "schemagate: libsystemd.so.0 could not be loaded (%s): install libsystemd0\n",
                library == NULL ? dlerror() : "sd_notify, sd_watchdog_enabled or sd_journal_sendv missing");
        calls.notify = NULL;
        calls.watchdog_enabled = NULL;
        calls.journal_sendv = NULL;
    }
}

int schemagate_sd_available(void) {
    pthread_once(&loaded, load);
    return calls.notify != NULL;
}

int schemagate_sd_notify(int unset_environment, const char *state) {
    if (getenv("NOTIFY_SOCKET") == NULL) return 0;
    if (!schemagate_sd_available()) return -ENOSYS;
    return calls.notify(unset_environment, state);
}

int schemagate_sd_watchdog_enabled(int unset_environment, uint64_t *usec) {
    if (getenv("WATCHDOG_USEC") == NULL) return 0;
    if (!schemagate_sd_available()) return -ENOSYS;
    return calls.watchdog_enabled(unset_environment, usec);
}

int schemagate_sd_journal_sendv(const struct iovec *iov, int n) {
    if (!schemagate_sd_available()) return -ENOSYS;
    return calls.journal_sendv(iov, n);
}
