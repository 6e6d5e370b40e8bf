/*
 * f8d privileges: started as root, f8d binds its ports and reads its models, then runs as the
 * `user` setting's user (nginx's `user`): supplementary groups cleared, the user's primary
 * group, the user's id, each step checked. Started as root without `user`, it only warns.
 */
#ifndef F8D_PRIVILEGES_H
#define F8D_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct f8d_user {
    char name[256];
    uid_t uid;
    gid_t gid;     /* the user's primary group */
};

/* Looks `name` up in the user database. Returns 0, or -1 with "no such user 'NAME'" (or why
 * the lookup failed) in err. */
int f8d_user_lookup(const char *name, struct f8d_user *out, char *err, size_t errlen);

/* Becomes `u`: setgroups(0), setgid(u->gid), setuid(u->uid), then checks that the real,
 * effective and saved ids are u's and that root cannot be regained. Process-wide (glibc
 * applies the calls to every thread). Returns 0, or -1 with a message. */
int f8d_drop_privileges(const struct f8d_user *u, char *err, size_t errlen);

#endif /* F8D_PRIVILEGES_H */
