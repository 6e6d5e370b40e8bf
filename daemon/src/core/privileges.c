/* f8d privileges: the user lookup and the drop from root. */
#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int f8d_user_lookup(const char *name, struct f8d_user *out, char *err, size_t errlen)
{
    struct passwd pw, *found = NULL;
    char buf[16384];
    int rc = getpwnam_r(name, &pw, buf, sizeof(buf), &found);
    if (found == NULL) {
        if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
            snprintf(err, errlen, "user: no such user '%.200s'", name);
        else
            snprintf(err, errlen, "user: cannot look up '%.200s': %s", name, strerror(rc));
        return -1;
    }
    snprintf(out->name, sizeof(out->name), "%s", name);
    out->uid = pw.pw_uid;
    out->gid = pw.pw_gid;
    return 0;
}

int f8d_drop_privileges(const struct f8d_user *u, char *err, size_t errlen)
{
    if (setgroups(0, NULL) != 0) {
        snprintf(err, errlen, "user %s: setgroups: %s", u->name, strerror(errno));
        return -1;
    }
    if (setgid(u->gid) != 0) {
        snprintf(err, errlen, "user %s: setgid(%u): %s", u->name, (unsigned)u->gid,
                 strerror(errno));
        return -1;
    }
    if (setuid(u->uid) != 0) {
        snprintf(err, errlen, "user %s: setuid(%u): %s", u->name, (unsigned)u->uid,
                 strerror(errno));
        return -1;
    }
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0 ||
        ruid != u->uid || euid != u->uid || suid != u->uid || rgid != u->gid ||
        egid != u->gid || sgid != u->gid || getgroups(0, NULL) != 0) {
        snprintf(err, errlen, "user %s: the process ids did not all change", u->name);
        return -1;
    }
    if (u->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(err, errlen, "user %s: root could be regained after the drop", u->name);
        return -1;
    }
    return 0;
}
