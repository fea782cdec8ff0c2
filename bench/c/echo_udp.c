// Reference UDP echo server: one thread, one socket, epoll, non-blocking; replies to each datagram from the bound
// socket.
// usage: echo_udp PORT [ADDR]. Prints "ready" on stdout once bound; SIGTERM/SIGINT stop it.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) { (void)sig; stopping = 1; }

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: echo_udp PORT [ADDR]\n"); return 2; }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    inet_pton(AF_INET, argc > 2 ? argv[2] : "127.0.0.1", &addr.sin_addr);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("bind"); return 1; }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    printf("ready\n");
    fflush(stdout);
    static char buf[65536];
    struct epoll_event events[4];
    while (!stopping) {
        if (epoll_wait(ep, events, 4, 200) <= 0) continue;
        for (;;) {
            struct sockaddr_in from;
            socklen_t len = sizeof from;
            ssize_t r = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
            if (r < 0) break;
            sendto(fd, buf, r, 0, (struct sockaddr *)&from, len);
        }
    }
    return 0;
}
