#ifndef EAH_OUTPUT_CLEANUP_H
#define EAH_OUTPUT_CLEANUP_H

/// Removes `path` and, when it is a folder, everything under it, without following symbolic
/// links. Async-signal-safe (only openat, getdents64, unlinkat, close and lseek; no allocation),
/// so a signal handler may call it. Returns 0 when `path` is gone.
int eah_remove_tree(const char *path);

/// Atomically swaps the entries `a` and `b` (renameat2 with RENAME_EXCHANGE). Returns 0, or -1
/// with errno set (EINVAL or ENOSYS where the file system or kernel cannot exchange).
int eah_exchange(const char *a, const char *b);

#endif
