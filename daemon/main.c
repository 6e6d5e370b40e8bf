/* f8d: the f8serve inference daemon. Reads its settings (config file, environment, flags),
 * runs the server, exits 0 after a clean shutdown and 1 when it cannot start. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include <grpc/grpc.h>
#include <microhttpd.h>
#include <uv.h>

#include "f8.h"
#include "core/cpus.h"
#include "core/options.h"
#include "core/server.h"
#include "grpc/grpc_frontend.h"
#include "http/http_loop.h"

extern char **environ;

int main(int argc, char **argv)
{
    static struct f8d_options opts;
    char err[1024];

    int rc = f8d_options_load(argc, argv, environ, &opts, err, sizeof(err));
    if (rc == 1) {
        f8d_options_usage(stdout, argv[0]);
        return 0;
    }
    if (rc == 2) {
        f8d_options_write_defaults(stdout);
        return 0;
    }
    if (rc == 3) {
        printf("f8d %s (libuv %s, libmicrohttpd %s, gRPC core %s, best kernels %s)\n",
               F8D_VERSION, uv_version_string(), MHD_get_version(), grpc_version_string(),
               f8_isa_name(f8_isa_best()));
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "f8d: %s\n", err);
        return 1;
    }
    if (opts.threads == 0)
        opts.threads = f8d_cpu_count();
    /* Inference runs on the server's own pool (opts.threads workers), background work
     * (parsing, large JPEGs, model loads) on its background pool (core/background.h): f8d
     * queues nothing on libuv's thread pool, which therefore never starts. */

    /* Large buffers (packed weights, arenas, big bodies) come from mmap and go back to the
     * system when freed: glibc would otherwise raise this threshold after the first large free
     * and serve later ones from heaps it keeps, so a reloaded model's memory stayed. A fixed
     * threshold also fixes the trim threshold, kept high so that the small allocations of
     * every request do not grow and shrink the heap each time. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);

    static struct f8d_server server;
    static const struct f8d_frontend *const frontends[] = {&f8d_http_frontend,
                                                           &f8d_grpc_frontend};
    if (f8d_server_init(&server, &opts, frontends, 2, err, sizeof(err)) != 0) {
        fprintf(stderr, "f8d: %s\n", err);
        f8d_server_free(&server);
        return 1;
    }
    rc = f8d_server_run(&server);
    f8d_server_free(&server);
    return rc == 0 ? 0 : 1;
}
