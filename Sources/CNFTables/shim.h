#include <nftables/libnftables.h>

#include <endian.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/// The nf_tables ruleset generation of this process's network namespace, and that namespace's cookie (unique per
/// boot, never reused). The kernel bumps the generation on every committed ruleset change, so an unchanged
/// (cookie, generation) pair means an unchanged ruleset. libnftables has no call for it; one netlink request does.
/// Returns 0, or an errno value.
static inline int berth_nft_generation(uint32_t *generation, uint64_t *netns_cookie) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) return errno;
    socklen_t cookie_length = sizeof *netns_cookie;
    if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, netns_cookie, &cookie_length) != 0) {
        int error = errno;
        close(fd);
        return error;
    }
    struct {
        struct nlmsghdr header;
        struct nfgenmsg body;
    } request;
    memset(&request, 0, sizeof request);
    request.header.nlmsg_len = sizeof request;
    request.header.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
    request.header.nlmsg_flags = NLM_F_REQUEST;
    request.header.nlmsg_seq = 1;
    request.body.nfgen_family = AF_UNSPEC;
    request.body.version = NFNETLINK_V0;
    struct sockaddr_nl kernel;
    memset(&kernel, 0, sizeof kernel);
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd, &request, sizeof request, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
        int error = errno;
        close(fd);
        return error;
    }
    union {
        struct nlmsghdr header;
        char bytes[4096];
    } reply;
    ssize_t length = recv(fd, &reply, sizeof reply, 0);
    int error = length < 0 ? errno : 0;
    close(fd);
    if (error != 0) return error;
    if (length < (ssize_t)NLMSG_HDRLEN || !NLMSG_OK(&reply.header, (size_t)length)) return EPROTO;
    if (reply.header.nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *failure = NLMSG_DATA(&reply.header);
        return failure->error < 0 ? -failure->error : EPROTO;
    }
    const char *attributes = (const char *)NLMSG_DATA(&reply.header) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
    const char *end = (const char *)&reply.header + reply.header.nlmsg_len;
    while (attributes + NLA_HDRLEN <= end) {
        const struct nlattr *attribute = (const struct nlattr *)attributes;
        if (attribute->nla_len < NLA_HDRLEN || attributes + attribute->nla_len > end) break;
        if ((attribute->nla_type & NLA_TYPE_MASK) == NFTA_GEN_ID && attribute->nla_len >= NLA_HDRLEN + sizeof(uint32_t)) {
            uint32_t id;
            memcpy(&id, attributes + NLA_HDRLEN, sizeof id);
            *generation = be32toh(id);
            return 0;
        }
        attributes += NLA_ALIGN(attribute->nla_len);
    }
    return EPROTO;
}
