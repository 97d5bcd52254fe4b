/* The benchmark sink: answers every request the way Kannel's smsbox answers a sendsms
 * (`202`, `0: Accepted for delivery`) and counts them, so that `make bench` measures loa and
 * not a gateway.
 *
 *   build/tests/sink PORT [ADDRESS]     listen on ADDRESS:PORT (default 127.0.0.1)
 *   GET /count                          the number of requests answered so far (not counted)
 *   SIGTERM or SIGINT                   prints "sink: N requests" and exits 0
 *
 * libmicrohttpd with a pool of epoll threads: the sink must not be what limits a benchmark,
 * and `make bench` measures its ceiling with wrk to show it is not. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t sink_count;
static struct MHD_Response *sink_accepted;

static enum MHD_Result sink_answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                   const char *version, const char *upload_data, size_t *upload_data_size,
                                   void **state)
{
    /* The first call only announces the request; a body arrives in later calls and is
     * dropped; the last call answers. */
    if (*state == NULL) {
        *state = (void *)1;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/count") == 0) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)atomic_load(&sink_count));
        struct MHD_Response *r = MHD_create_response_from_buffer((size_t)n, buf, MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ok;
    }
    atomic_fetch_add_explicit(&sink_count, 1, memory_order_relaxed);
    return MHD_queue_response(c, MHD_HTTP_ACCEPTED, sink_accepted);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: sink PORT [ADDRESS]\n");
        return 2;
    }
    char *end;
    long port = strtol(argv[1], &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "sink: bad port '%s'\n", argv[1]);
        return 2;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, argc == 3 ? argv[2] : "127.0.0.1", &addr.sin_addr) != 1) {
        fprintf(stderr, "sink: bad address '%s'\n", argv[2]);
        return 2;
    }

    /* Block the signals before the server's threads start, so that only sigwait() below
     * receives them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    static const char body[] = "0: Accepted for delivery";
    sink_accepted = MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(sink_accepted, "Content-Type", "text/plain");

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO, 0, NULL, NULL, sink_answer, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)2,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "sink: cannot listen on port %ld\n", port);
        return 1;
    }
    fprintf(stderr, "sink: listening on %s:%ld\n", argc == 3 ? argv[2] : "127.0.0.1", port);

    int sig = 0;
    sigwait(&sigs, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(sink_accepted);
    printf("sink: %llu requests\n", (unsigned long long)atomic_load(&sink_count));
    return 0;
}
