// libuv for berth's broker: the event loop, TCP, UDP, timers and signals.
#include <uv.h>
