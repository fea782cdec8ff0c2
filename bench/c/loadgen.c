// berth bench load generator: one thread, epoll, non-blocking sockets, many connections.
//
//   loadgen echo  --port P --conns N --size B --duration S [--warmup S]    TCP ping-pong: round trips/s, p50/p99
//   loadgen churn --port P --conns N --size B --duration S [--sources K]   connect, send, read reply, close: conns/s
//   loadgen udp   --port P --conns N --size B --duration S [--window W]    UDP echo: datagrams/s and loss
//   loadgen relay --port P --conns N --size B --duration S [--window W]    1 publisher + N subscribers: lines/s
//   loadgen idle  --port P --conns N [--sources K] [--hold S]              open N connections, echo 1 byte on each,
//                                                                          print a line, hold until stdin closes
//
// --tls 1 makes echo, churn and idle speak TLS 1.3 (OpenSSL client, SNI "localhost", the server's certificate not
// verified: the bench's is self-signed). Every connection makes a full handshake (no session is ever resumed); a
// connection counts as established once its handshake is done. With --tls 1, churn is the handshake benchmark: connect,
// handshake, one message echoed, close_notify and close. Its --drain 1 finishes the connections in flight at the end
// instead of abandoning them, and --pids P[,P...] has it read those processes' CPU time (utime + stime from
// /proc/PID/stat) at the start and the end of the measured window, so "server_cpu_seconds" and "handshakes" cover the
// same connections: the server's CPU per handshake.
//
// Every mode prints one JSON object on stdout, including the generator's own CPU use over the measured window
// ("client_cpu": 1.0 is one core saturated), so a reader can tell when the client, not the server, is the limit.
// echo and churn also count failed connections by kind ("refused", "reset", "closed"; "errors" is their sum): a failed
// connection is not reopened in echo mode, so a server that drops connections shows both as errors and as a lower rate.
// Every loop is bounded by --duration (and a hard deadline), so a stuck server never hangs the bench.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static const char *host = "127.0.0.1";
static int port = 0, conns = 1, size = 64, sources = 1, window = 32, pending_max = 128;
static double duration = 2, warmup = 0.5, hold = 30;
static int tls = 0, drain = 0;
static const char *pids = NULL;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}
static void die(const char *what) { perror(what); exit(1); }

// CPU seconds (user + system, every thread, from /proc/PID/stat) of the comma-separated processes in --pids.
static double pids_cpu_seconds(void) {
    double total = 0;
    long tick = sysconf(_SC_CLK_TCK);
    char list[256];
    snprintf(list, sizeof list, "%s", pids ? pids : "");
    for (char *save = NULL, *pid = strtok_r(list, ",", &save); pid; pid = strtok_r(NULL, ",", &save)) {
        char path[64], stat[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = 0;
        char *after_name = strrchr(stat, ')');  // the command name may hold spaces and parentheses
        unsigned long utime = 0, stime = 0;
        // After ") ": state, then fields 4..13 of proc(5), then utime (14) and stime (15).
        if (after_name && sscanf(after_name + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                                 &stime) == 2)
            total += (double)(utime + stime) / tick;
    }
    return total;
}

// ---- latency samples (microseconds), sorted once at the end ----
static uint32_t *samples;
static size_t nsamples, capsamples;
static void sample(uint64_t ns) {
    if (nsamples == capsamples) {
        if (capsamples >= (1u << 27)) return;  // 512 MiB of samples is plenty; keep counting, stop storing
        capsamples = capsamples ? capsamples * 2 : 1 << 16;
        samples = realloc(samples, capsamples * sizeof *samples);
        if (!samples) die("realloc");
    }
    samples[nsamples++] = (uint32_t)(ns / 1000 > UINT32_MAX ? UINT32_MAX : ns / 1000);
}
static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}
static double pct(double p) {
    if (!nsamples) return -1;
    size_t i = (size_t)(p * (nsamples - 1));
    return samples[i];
}

static struct sockaddr_in server_addr(void) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", host); exit(2); }
    return a;
}
// Source address number i: 127.0.1.1, 127.0.1.2, ... so ephemeral ports and TIME_WAIT spread over many tuples.
static struct sockaddr_in source_addr(int i) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl((127u << 24) | ((1u + i / 250) << 8) | (1u + i % 250));
    return a;
}

// Starts a non-blocking connect; returns the fd (connection may still be in progress).
static int start_connect(int src) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (sources > 1) {
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in s = source_addr(src % sources);
        if (bind(fd, (struct sockaddr *)&s, sizeof s) < 0) { close(fd); return -1; }
    }
    struct sockaddr_in a = server_addr();
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) { close(fd); return -1; }
    return fd;
}

static char *msgbuf;
static char rbuf[1 << 17];

// ---- TCP connection state machine shared by echo, churn and idle ----
enum { C_FREE, C_CONNECTING, C_HANDSHAKE, C_SENDING, C_WAITING, C_IDLE };
typedef struct {
    int fd, state, src;
    SSL *ssl;  // with --tls 1, from the end of the TCP connect on
    size_t sent, recvd;
    uint64_t t_send, t_open;
} conn_t;

static int ep;
static conn_t *cs;
static int connecting_now = 0, started = 0;
// errors = refused + reset + closed (+ handshake with --tls 1): a connect that failed, a read or write that failed
// (reset, broken pipe), a connection the server closed while a reply was due, and a TLS handshake that failed. The
// kinds tell a refused port from a dropped connection.
static uint64_t errors = 0, refused = 0, reset = 0, closed = 0, handshake_failed = 0;
static void count_error(uint64_t *kind) { errors++; (*kind)++; }

// ---- TLS client (--tls 1): OpenSSL over the same non-blocking sockets and the same epoll loop ----
static SSL_CTX *tls_ctx;
static uint64_t handshakes = 0;
static char negotiated[96] = "";  // "TLSv1.3 TLS_AES_256_GCM_SHA384", from the first handshake done

static void tls_init(int lean) {
    tls_ctx = SSL_CTX_new(TLS_client_method());
    if (!tls_ctx) { ERR_print_errors_fp(stderr); exit(1); }
    SSL_CTX_set_min_proto_version(tls_ctx, TLS1_3_VERSION);
    // Never a session to resume: every connection pays a full handshake, on both sides.
    SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);  // the bench's certificates are self-signed
    // A peer's FIN without close_notify is an end of stream here, as for a plain socket.
    SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    // Partial writes keep a 16 KiB message flowing like write(); read-ahead takes a socket's bytes in one read().
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | (lean ? SSL_MODE_RELEASE_BUFFERS : 0));
    SSL_CTX_set_read_ahead(tls_ctx, 1);
}

// What an SSL_read/SSL_write that returned r <= 0 means, as read()/write() would say it: 0 for the end of the stream,
// -1 with errno EAGAIN to wait for the socket, -1 with ECONNRESET for an error.
static ssize_t tls_result(conn_t *c, int r) {
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) { errno = EAGAIN; return -1; }
    ERR_clear_error();  // a stale error would make the next connection's SSL_get_error report SSL_ERROR_SSL
    if (e == SSL_ERROR_ZERO_RETURN) return 0;
    errno = ECONNRESET;
    return -1;
}
static ssize_t io_write(conn_t *c, const char *buf, size_t len) {
    if (!c->ssl) return write(c->fd, buf, len);
    int r = SSL_write(c->ssl, buf, (int)len);
    return r > 0 ? r : tls_result(c, r);
}
// One read(); over TLS, also every record OpenSSL already holds (epoll cannot see those).
static ssize_t io_read(conn_t *c, char *buf, size_t len) {
    if (!c->ssl) return read(c->fd, buf, len);
    ssize_t total = 0;
    do {
        int r = SSL_read(c->ssl, buf + total, (int)(len - total));
        if (r <= 0) return total ? total : tls_result(c, r);
        total += r;
    } while (SSL_has_pending(c->ssl) && (size_t)total < len);
    return total;
}

static void watch(conn_t *c, uint32_t events, int op) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(ep, op, c->fd, &ev);
}
static void conn_close(conn_t *c) {
    if (c->state == C_CONNECTING || c->state == C_HANDSHAKE) connecting_now--;
    if (c->ssl) { SSL_free(c->ssl); c->ssl = NULL; }
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->state = C_FREE;
}
static void conn_open(conn_t *c) {
    c->src = started++;
    c->fd = start_connect(c->src);
    if (c->fd < 0) { count_error(&refused); c->state = C_FREE; return; }
    c->state = C_CONNECTING;
    c->t_open = now_ns();
    connecting_now++;
    watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}
// Writes the rest of the current message; EPOLLOUT only while a write is pending.
static void conn_send(conn_t *c) {
    if (c->state != C_SENDING) { c->state = C_SENDING; c->sent = 0; c->recvd = 0; c->t_send = now_ns(); }
    while (c->sent < (size_t)size) {
        ssize_t w = io_write(c, msgbuf + c->sent, size - c->sent);
        if (w < 0) {
            if (errno == EAGAIN) { watch(c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD); return; }
            count_error(&reset); conn_close(c); return;
        }
        c->sent += w;
    }
    c->state = C_WAITING;
    watch(c, EPOLLIN, EPOLL_CTL_MOD);
}
// Starts (or goes on with) the TLS handshake of a connected socket; sends the first message once it is done.
static void conn_handshake(conn_t *c) {
    if (c->state != C_HANDSHAKE) {
        c->state = C_HANDSHAKE;
        c->ssl = SSL_new(tls_ctx);
        if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || !SSL_set_tlsext_host_name(c->ssl, "localhost")) {
            ERR_print_errors_fp(stderr);
            exit(1);
        }
    }
    int r = SSL_connect(c->ssl);
    if (r == 1) {
        if (!handshakes++)
            snprintf(negotiated, sizeof negotiated, "%s %s", SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl));
        connecting_now--;
        c->state = C_IDLE;
        conn_send(c);
        return;
    }
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ: watch(c, EPOLLIN, EPOLL_CTL_MOD); return;
    case SSL_ERROR_WANT_WRITE: watch(c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD); return;
    default: ERR_clear_error(); count_error(&handshake_failed); conn_close(c);
    }
}
// The end of a churn connection: close_notify first over TLS (the reply, and the server's session tickets before it,
// have been read, so the close is a FIN, not a reset).
static void conn_finish(conn_t *c) {
    if (c->ssl) { SSL_shutdown(c->ssl); ERR_clear_error(); }
    conn_close(c);
}

static int mode_tcp(const char *mode) {
    int is_echo = !strcmp(mode, "echo"), is_churn = !strcmp(mode, "churn"), is_idle = !strcmp(mode, "idle");
    ep = epoll_create1(0);
    cs = calloc(conns, sizeof *cs);
    for (int i = 0; i < conns; i++) { cs[i].fd = -1; cs[i].state = C_FREE; }
    if (is_idle) size = 1;

    uint64_t t0 = now_ns();
    // Echo measures from --warmup after the last connection is established (so a slow accept ramp is not counted
    // as slow echo); churn from --warmup after the start.
    uint64_t t_measure = is_echo ? UINT64_MAX : t0 + (uint64_t)(warmup * 1e9);
    uint64_t t_end = is_echo ? UINT64_MAX : t_measure + (uint64_t)(duration * 1e9);
    uint64_t hard_deadline = t0 + (uint64_t)((warmup + duration + 30) * 1e9);  // setup of 10k connections included
    double cpu0 = 0, server_cpu0 = 0;
    int measuring = 0, draining = 0;
    uint64_t done = 0, ready = 0, handshakes0 = 0;
    int opened_all = 0;
    struct epoll_event evs[512];

    for (;;) {
        uint64_t t = now_ns();
        if (t > hard_deadline) { fprintf(stderr, "loadgen: hard deadline reached\n"); break; }
        if (!is_idle) {
            if (!measuring && t >= t_measure) {
                measuring = 1; cpu0 = cpu_seconds(); done = 0; nsamples = 0;
                server_cpu0 = pids_cpu_seconds(); handshakes0 = handshakes;
            }
            if (measuring && t >= t_end) {
                if (!(is_churn && drain)) break;
                draining = 1;  // churn --drain 1: no new connection; the ones in flight finish
                int active = 0;
                for (int i = 0; i < conns; i++) if (cs[i].state != C_FREE) { active = 1; break; }
                if (!active) break;
            }
        }
        // Keep every slot busy, with at most pending_max connects in flight (the server's accept backlog is finite).
        if (!draining && (!opened_all || is_churn)) {
            int all = 1;
            for (int i = 0; i < conns && connecting_now < pending_max; i++)
                if (cs[i].state == C_FREE && (is_churn || !opened_all)) conn_open(&cs[i]);
            for (int i = 0; i < conns; i++) if (cs[i].state == C_FREE) { all = 0; break; }
            if (all && !is_churn) opened_all = 1;
        }
        if (is_echo && t_measure == UINT64_MAX && opened_all && connecting_now == 0) {
            t_measure = t + (uint64_t)(warmup * 1e9);
            t_end = t_measure + (uint64_t)(duration * 1e9);
        }
        int n = epoll_wait(ep, evs, 512, 50);
        for (int k = 0; k < n; k++) {
            conn_t *c = evs[k].data.ptr;
            if (c->fd < 0) continue;
            if (c->state == C_CONNECTING) {
                int err = 0; socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) { count_error(&refused); conn_close(c); continue; }
                if (tls) { conn_handshake(c); continue; }
                connecting_now--;
                conn_send(c);
                continue;
            }
            if (c->state == C_HANDSHAKE) { conn_handshake(c); continue; }
            if (c->state == C_SENDING && (evs[k].events & EPOLLOUT)) { conn_send(c); if (c->fd < 0) continue; }
            if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t r = io_read(c, rbuf, sizeof rbuf);
                if (r == 0) { count_error(&closed); conn_close(c); continue; }
                if (r < 0 && errno != EAGAIN) { count_error(&reset); conn_close(c); continue; }
                if (r < 0) continue;
                c->recvd += r;
                if (c->recvd >= (size_t)size && c->state == C_WAITING) {
                    uint64_t tn = now_ns();
                    if (is_echo) {
                        if (measuring) { done++; sample(tn - c->t_send); }
                        conn_send(c);
                    } else if (is_churn) {
                        if (measuring && !draining) { done++; sample(tn - c->t_open); }
                        conn_finish(c);  // graceful close: FIN from the client, TIME_WAIT spread over --sources
                    } else {
                        c->state = C_IDLE;
                        watch(c, EPOLLIN, EPOLL_CTL_MOD);
                        ready++;
                    }
                }
            }
        }
        if (is_idle && ready == (uint64_t)conns) break;
    }
    uint64_t t_stop = now_ns();
    if (measuring && pids) usleep(100000);  // the server's last closes, counted in its CPU time
    double server_cpu = measuring && pids ? pids_cpu_seconds() - server_cpu0 : 0;
    if (is_idle) {
        printf("{\"mode\":\"idle\",\"conns\":%d,\"ready\":%llu,\"errors\":%llu,\"handshake_failed\":%llu,"
               "\"negotiated\":\"%s\",\"open_seconds\":%.3f}\n", conns, (unsigned long long)ready,
               (unsigned long long)errors, (unsigned long long)handshake_failed, negotiated, (t_stop - t0) / 1e9);
        fflush(stdout);
        // Hold every connection open until the driver closes our stdin (it measures the server meanwhile).
        struct pollfd p = {.fd = 0, .events = POLLIN};
        uint64_t until = now_ns() + (uint64_t)(hold * 1e9);
        while (now_ns() < until) {
            if (poll(&p, 1, 100) > 0) { char b[64]; if (read(0, b, sizeof b) <= 0) break; }
        }
        return ready == (uint64_t)conns ? 0 : 1;
    }
    // The rate is over the measured window; a drain after it adds handshakes (and CPU) but no time.
    double wall = measuring ? ((draining ? t_end : t_stop) - t_measure) / 1e9 : 0;
    double cpu = measuring ? cpu_seconds() - cpu0 : 0;
    qsort(samples, nsamples, sizeof *samples, cmp_u32);
    printf("{\"mode\":\"%s\",\"tls\":%s,\"conns\":%d,\"size\":%d,\"seconds\":%.3f,\"count\":%llu,"
           "\"per_second\":%.1f,\"p50_us\":%.0f,\"p99_us\":%.0f,\"errors\":%llu,\"refused\":%llu,\"reset\":%llu,"
           "\"closed\":%llu,\"handshake_failed\":%llu,\"handshakes\":%llu,\"negotiated\":\"%s\","
           "\"server_cpu_seconds\":%.3f,\"client_cpu\":%.3f}\n",
           mode, tls ? "true" : "false", conns, size, wall, (unsigned long long)done, wall > 0 ? done / wall : 0,
           pct(0.5), pct(0.99), (unsigned long long)errors, (unsigned long long)refused, (unsigned long long)reset,
           (unsigned long long)closed, (unsigned long long)handshake_failed,
           (unsigned long long)(handshakes - handshakes0), negotiated, server_cpu, wall > 0 ? cpu / wall : 0);
    return 0;
}

// ---- UDP echo: --conns sockets, each keeping up to --window datagrams in flight ----
static int mode_udp(void) {
    ep = epoll_create1(0);
    int *fds = calloc(conns, sizeof *fds);
    long *inflight = calloc(conns, sizeof *inflight);
    uint64_t *last = calloc(conns, sizeof *last);
    struct sockaddr_in a = server_addr();
    for (int i = 0; i < conns; i++) {
        fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int rcv = 4 << 20;
        setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
        if (connect(fds[i], (struct sockaddr *)&a, sizeof a) < 0) die("connect udp");
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    uint64_t t0 = now_ns(), t_measure = t0 + (uint64_t)(warmup * 1e9), t_end = t_measure + (uint64_t)(duration * 1e9);
    uint64_t sent = 0, recvd = 0, sent_m = 0, recvd_m = 0;
    int measuring = 0;
    double cpu0 = 0;
    struct epoll_event evs[256];
    const uint64_t stall_ns = 20 * 1000000ull;  // no reply for 20 ms: what is in flight is lost
    for (;;) {
        uint64_t t = now_ns();
        if (!measuring && t >= t_measure) { measuring = 1; cpu0 = cpu_seconds(); sent_m = sent; recvd_m = recvd; }
        if (t >= t_end) break;
        for (int i = 0; i < conns; i++) {
            if (inflight[i] > 0 && t - last[i] > stall_ns) inflight[i] = 0;
            while (inflight[i] < window) {
                if (send(fds[i], msgbuf, size, 0) < 0) break;
                if (!inflight[i]) last[i] = t;
                inflight[i]++; sent++;
            }
        }
        int n = epoll_wait(ep, evs, 256, 5);
        for (int k = 0; k < n; k++) {
            int i = evs[k].data.u32;
            for (;;) {
                ssize_t r = recv(fds[i], rbuf, sizeof rbuf, 0);
                if (r < 0) break;
                recvd++;
                last[i] = now_ns();
                if (inflight[i] > 0) inflight[i]--;
            }
        }
    }
    double wall = (now_ns() - t_measure) / 1e9, cpu = cpu_seconds() - cpu0;
    uint64_t s = sent - sent_m;
    // Late replies to what was sent in the window still count: drain for 200 ms.
    uint64_t drain_until = now_ns() + 200000000ull;
    uint64_t r_window = recvd - recvd_m;
    while (now_ns() < drain_until) {
        int n = epoll_wait(ep, evs, 256, 20);
        for (int k = 0; k < n; k++)
            while (recv(fds[evs[k].data.u32], rbuf, sizeof rbuf, 0) >= 0) recvd++;
    }
    uint64_t r_total = recvd - recvd_m;
    double loss = s ? 1.0 - (double)(r_total > s ? s : r_total) / s : 0;
    printf("{\"mode\":\"udp\",\"conns\":%d,\"size\":%d,\"window\":%d,\"seconds\":%.3f,\"sent\":%llu,\"count\":%llu,"
           "\"per_second\":%.1f,\"loss\":%.5f,\"client_cpu\":%.3f}\n",
           conns, size, window, wall, (unsigned long long)s, (unsigned long long)r_window, r_window / wall, loss,
           cpu / wall);
    return 0;
}

// ---- relay: connection 0 publishes lines, connections 1..N subscribe and count lines ----
static int mode_relay(void) {
    ep = epoll_create1(0);
    int n = conns + 1;
    int *fds = calloc(n, sizeof *fds);
    uint64_t *lines = calloc(n, sizeof *lines);
    struct sockaddr_in a = server_addr();
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fds[i], (struct sockaddr *)&a, sizeof a) < 0) die("connect relay");
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    // A line of --size bytes ending in '\n'.
    for (int i = 0; i < size - 1; i++) msgbuf[i] = 'a' + i % 26;
    msgbuf[size - 1] = '\n';
    struct epoll_event evs[256];
    uint64_t published = 0;
    // Sync: publish until every subscriber has seen a line (the server subscribes them asynchronously).
    uint64_t sync_deadline = now_ns() + 10000000000ull;
    for (;;) {
        int all = 1;
        for (int i = 1; i < n; i++) if (!lines[i]) { all = 0; break; }
        if (all) break;
        if (now_ns() > sync_deadline) { fprintf(stderr, "loadgen: relay subscribers never synced\n"); return 1; }
        if (write(fds[0], msgbuf, size) == size) published++;
        int k = epoll_wait(ep, evs, 256, 50);
        for (int j = 0; j < k; j++) {
            int i = evs[j].data.u32;
            ssize_t r;
            while ((r = read(fds[i], rbuf, sizeof rbuf)) > 0)
                for (ssize_t b = 0; b < r; b++) lines[i] += rbuf[b] == '\n';
        }
    }
    // Quiet for 200 ms, then note how many lines each subscriber missed while it was subscribing.
    uint64_t quiet_until = now_ns() + 200000000ull;
    while (now_ns() < quiet_until) {
        int k = epoll_wait(ep, evs, 256, 20);
        for (int j = 0; j < k; j++) {
            int i = evs[j].data.u32;
            ssize_t r;
            while ((r = read(fds[i], rbuf, sizeof rbuf)) > 0)
                if (i) for (ssize_t b = 0; b < r; b++) lines[i] += rbuf[b] == '\n';
        }
    }
    uint64_t *missed = calloc(n, sizeof *missed), *base = calloc(n, sizeof *base);
    for (int i = 1; i < n; i++) missed[i] = published - lines[i];
    // From here the publisher keeps at most --window lines ahead of the slowest subscriber, one line per write.
    uint64_t t0 = now_ns(), t_measure = t0 + (uint64_t)(warmup * 1e9), t_end = t_measure + (uint64_t)(duration * 1e9);
    int measuring = 0;
    double cpu0 = 0;
    for (;;) {
        uint64_t t = now_ns();
        if (!measuring && t >= t_measure) {
            measuring = 1; cpu0 = cpu_seconds();
            for (int i = 1; i < n; i++) base[i] = lines[i];
        }
        if (t >= t_end) break;
        uint64_t slowest = UINT64_MAX;
        for (int i = 1; i < n; i++) if (lines[i] + missed[i] < slowest) slowest = lines[i] + missed[i];
        while (published < slowest + (uint64_t)window) {
            if (write(fds[0], msgbuf, size) != size) break;  // never partial for lines this short on loopback
            published++;
        }
        int k = epoll_wait(ep, evs, 256, 5);
        for (int j = 0; j < k; j++) {
            int i = evs[j].data.u32;
            ssize_t r;
            while ((r = read(fds[i], rbuf, sizeof rbuf)) > 0)
                if (i) for (ssize_t b = 0; b < r; b++) lines[i] += rbuf[b] == '\n';
        }
    }
    double wall = (now_ns() - t_measure) / 1e9, cpu = cpu_seconds() - cpu0;
    uint64_t delivered = 0;
    for (int i = 1; i < n; i++) delivered += lines[i] - base[i];
    printf("{\"mode\":\"relay\",\"conns\":%d,\"size\":%d,\"window\":%d,\"seconds\":%.3f,\"count\":%llu,"
           "\"per_second\":%.1f,\"client_cpu\":%.3f}\n",
           conns, size, window, wall, (unsigned long long)delivered, delivered / wall, cpu / wall);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: loadgen echo|churn|udp|relay|idle --port P [options]\n"); return 2; }
    const char *mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--host")) host = v;
        else if (!strcmp(k, "--port")) port = atoi(v);
        else if (!strcmp(k, "--conns")) conns = atoi(v);
        else if (!strcmp(k, "--size")) size = atoi(v);
        else if (!strcmp(k, "--duration")) duration = atof(v);
        else if (!strcmp(k, "--warmup")) warmup = atof(v);
        else if (!strcmp(k, "--sources")) sources = atoi(v);
        else if (!strcmp(k, "--window")) window = atoi(v);
        else if (!strcmp(k, "--pending")) pending_max = atoi(v);
        else if (!strcmp(k, "--hold")) hold = atof(v);
        else if (!strcmp(k, "--tls")) tls = atoi(v);
        else if (!strcmp(k, "--drain")) drain = atoi(v);
        else if (!strcmp(k, "--pids")) pids = v;
        else { fprintf(stderr, "loadgen: unknown option %s\n", k); return 2; }
    }
    if (!port || conns < 1 || size < 1 || duration > 600 || hold > 600) {
        fprintf(stderr, "loadgen: bad options\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl = {conns + 1024, conns + 1024};
    if (rl.rlim_cur < 4096) rl.rlim_cur = rl.rlim_max = 4096;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) perror("setrlimit");
    msgbuf = malloc(size);
    for (int i = 0; i < size; i++) msgbuf[i] = 'a' + i % 26;
    if (!strcmp(mode, "echo") || !strcmp(mode, "churn") || !strcmp(mode, "idle")) {
        if (tls) tls_init(!strcmp(mode, "idle"));
        return mode_tcp(mode);
    }
    if (tls) { fprintf(stderr, "loadgen: --tls 1 is for echo, churn and idle\n"); return 2; }
    if (!strcmp(mode, "udp")) return mode_udp();
    if (!strcmp(mode, "relay")) return mode_relay();
    fprintf(stderr, "loadgen: unknown mode %s\n", mode);
    return 2;
}
