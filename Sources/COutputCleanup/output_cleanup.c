#define _GNU_SOURCE
#include "eah_output_cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

struct eah_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/// Deepest folder nesting removed (bundles nest one level).
enum { max_depth = 32 };

static int remove_at(int parent, const char *name, int depth) {
    if (unlinkat(parent, name, 0) == 0 || errno == ENOENT) return 0;
    if (errno != EISDIR && errno != EPERM) return -1;
    if (depth >= max_depth) return -1;
    int folder = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (folder < 0) return -1;
    char buffer[2048] __attribute__((aligned(8)));
    // Entries removed while reading shift the folder's offsets: read from the start again
    // until a pass removes nothing (another thread may still be adding files).
    for (int pass = 0; pass < 64; pass++) {
        int removed = 0;
        lseek(folder, 0, SEEK_SET);
        for (;;) {
            long count = syscall(SYS_getdents64, folder, buffer, sizeof buffer);
            if (count <= 0) break;
            for (long offset = 0; offset < count;) {
                struct eah_dirent64 *entry = (struct eah_dirent64 *)(buffer + offset);
                offset += entry->d_reclen;
                if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
                if (remove_at(folder, entry->d_name, depth + 1) == 0) removed++;
            }
        }
        if (removed == 0) break;
    }
    close(folder);
    return unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -1;
}

int eah_remove_tree(const char *path) {
    return remove_at(AT_FDCWD, path, 0);
}

int eah_exchange(const char *a, const char *b) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}
